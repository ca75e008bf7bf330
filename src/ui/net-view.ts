// How this node links to its peers: direct where possible or relay-only (TURN), whether the
// relay offers TURN, the problems found (a TURN server refusing its credentials), and the
// setting that makes relay-only links this profile's default.
import type { SwarmNode } from '../swarm/node'
import { h } from './dom'

export interface IceSetting {
  /** Whether the page's URL chose (`ice=`), which wins over the setting. */
  fromUrl: boolean
  /** Saves the setting; the page reloads to use it. */
  save(ice: 'all' | 'relay'): Promise<void>
}

export function mountNetView(root: HTMLElement, node: SwarmNode, setting: IceSetting, report: (error: unknown) => void): () => void {
  const relayOnly = node.config.ice === 'relay'
  const status = h('div', { class: 'peer-detail', 'data-testid': 'net-status' })
  const problems = h('ul', { class: 'net-problems', 'data-testid': 'net-problems' })
  const toggle = h('input', { type: 'checkbox', 'data-testid': 'ice-relay-setting', checked: relayOnly })
  toggle.addEventListener('change', () => void setting.save(toggle.checked ? 'relay' : 'all').catch(report))
  const note = setting.fromUrl ? " (this page's ice= wins over it)" : ''
  root.append(h('div', { class: 'net' }, status, problems, h('label', { class: 'peer-detail' }, toggle, ` relay-only links through TURN: peers never learn this device's addresses${note}`)))

  const render = (): void => {
    const { config, source, problem } = node.net
    const mode = relayOnly ? 'relay-only links (TURN)' : 'direct links where possible'
    const turn = config.turn ? 'TURN available' : 'no TURN server'
    status.textContent = `Network: ${mode} · ${turn}${source === 'fallback' ? ` · relay settings unavailable: ${problem ?? ''}` : ''}`
    problems.replaceChildren(...node.netProblems().map((text) => h('li', { class: 'warn', 'data-testid': 'net-problem' }, text)))
  }
  const unsubscribe = node.on('net-problem', render)
  render()
  return unsubscribe
}
