import type { SwarmNode } from '../swarm/node'
import { h } from './dom'

export interface Shell {
  header: HTMLElement
  notices: HTMLElement
  chat: HTMLElement
  engine: HTMLElement
  swarm: HTMLElement
  memory: HTMLElement
  /** Shows a message to the user; errors stay until dismissed. */
  notify(message: string, level?: 'info' | 'warn' | 'error'): void
}

export function createShell(root: HTMLElement): Shell {
  const header = h('header', { class: 'topbar' }, h('h1', {}, 'edgeswarm'))
  const notices = h('ul', { class: 'notices', 'data-testid': 'notices', 'aria-live': 'polite' })
  const engine = h('div', { class: 'engine', 'data-testid': 'engine-view' })
  const chat = h('section', { class: 'panel chat', 'data-testid': 'chat-view' }, engine)
  const swarm = h('section', { class: 'panel swarm', 'data-testid': 'swarm-view' })
  const memory = h('section', { class: 'panel memory', 'data-testid': 'memory-view' })
  root.replaceChildren(header, notices, h('main', { class: 'columns' }, chat, h('div', { class: 'side' }, swarm, memory)))
  const notify = (message: string, level: 'info' | 'warn' | 'error' = 'info'): void => {
    const notice = h(
      'li',
      { class: `notice ${level}`, 'data-testid': `notice-${level}` },
      message,
      h('button', { type: 'button', class: 'link', 'aria-label': 'dismiss', onclick: () => notice.remove() }, '×'),
    )
    notices.append(notice)
    if (level === 'info') setTimeout(() => notice.remove(), 6_000)
  }
  return { header, notices, chat, engine, swarm, memory, notify }
}

/** How often a visible page asks whether its origin still answers. */
const networkCheckMs = 30_000

/** Whether any answer (even an error status) comes back from the page's origin: a failed request is no network. */
async function originReachable(): Promise<boolean> {
  try {
    await fetch('/healthz', { cache: 'no-store', method: 'HEAD' })
    return true
  } catch {
    return false
  }
}

/** Room name, share button and connectivity in the top bar. */
export function mountRoomBar(shell: Shell, node: SwarmNode, link: string): void {
  const share = h('button', { type: 'button', 'data-testid': 'share', title: link }, 'Copy invite link')
  share.addEventListener('click', () => {
    navigator.clipboard.writeText(link).then(
      () => shell.notify('Invite link copied: whoever opens it joins this room.'),
      () => window.prompt('Copy this link to invite a peer:', link),
    )
  })
  const network = h('span', { class: 'network', 'data-testid': 'network' })
  const show = (online: boolean): void => {
    network.textContent = online ? 'online' : 'offline: working from local memory'
    network.className = `network ${online ? 'up' : 'down'}`
  }
  // navigator.onLine can say online where no request gets out (an emulated or captive network, a
  // cable pulled behind a router): the answer of a request to the page's own origin says more.
  const showNetwork = (): void => {
    show(navigator.onLine)
    if (navigator.onLine) void originReachable().then((reachable) => navigator.onLine && show(reachable))
  }
  window.addEventListener('online', showNetwork)
  window.addEventListener('offline', showNetwork)
  setInterval(() => document.visibilityState === 'visible' && showNetwork(), networkCheckMs)
  showNetwork()
  shell.header.append(
    h(
      'span',
      { class: 'room', 'data-testid': 'room' },
      'room ',
      h('b', {}, node.config.room),
      node.config.key === null
        ? h('span', { class: 'warn' }, ' (open: no key)')
        : h('span', { class: 'lock', title: 'everything this room says is encrypted with the key in the link' }, ' · encrypted'),
    ),
    network,
    share,
  )
}
