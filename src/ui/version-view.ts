import { buildLabel } from '../shared/build'
import type { LocalEngine } from '../inference/local-engine'
import { otherVersionHosts, type OtherVersionHost } from '../inference/shared-engine'
import { h } from './dom'

/** How often the engine view looks again for a tab of another version that runs the model. */
const recheckEveryMs = 30_000

/** What to tell the user about a tab it cannot share a model with. */
export function otherVersionText(hosts: readonly OtherVersionHost[]): string {
  const older = hosts.find((host) => host.relation === 'older')
  if (older)
    return `Another tab of this profile runs an older version of edgeswarm${older.build ? ` (${older.build})` : ''}: the tabs cannot share one model, so this one loads its own. Reload that tab to share its model.`
  const newer = hosts[0]
  if (newer)
    return `Another tab of this profile runs a newer version of edgeswarm${newer.build ? ` (${newer.build})` : ''}: the tabs cannot share one model, so this one loads its own. Reload this tab to share its model.`
  return ''
}

/**
 * This build's version, unobtrusive under the engine row, and a notice while a tab of another
 * engine-protocol version runs the same model (the tabs refuse to share it; see tab-channel.ts).
 */
export function mountVersionView(root: HTMLElement, engine: LocalEngine): () => void {
  const notice = h('p', { class: 'engine-version-notice', role: 'status', 'data-testid': 'engine-version-notice', hidden: true })
  root.append(notice, h('p', { class: 'app-version', 'data-testid': 'app-version' }, `edgeswarm ${buildLabel()}`))
  let checked = ''
  const check = (): void => {
    const { kind, modelId } = engine.status()
    if (kind === 'none' || modelId === '') return
    otherVersionHosts(kind, modelId).then(
      (hosts) => {
        notice.textContent = otherVersionText(hosts)
        notice.hidden = hosts.length === 0
      },
      (error: unknown) => console.warn('engine version check:', error),
    )
  }
  const unsubscribe = engine.on('status', ({ kind, modelId }) => {
    if (`${kind}:${modelId}` === checked) return
    checked = `${kind}:${modelId}`
    check()
  })
  const timer = setInterval(check, recheckEveryMs)
  check()
  return () => {
    unsubscribe()
    clearInterval(timer)
  }
}
