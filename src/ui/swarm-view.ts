import type { Capabilities, EnginePresence, ServeMode } from '../shared/protocol'
import type { Unsubscribe } from '../shared/events'
import { plural } from '../shared/text'
import type { Contribution } from '../market/ledger'
import type { SwarmNode } from '../swarm/node'
import { formatBytes } from '../swarm/room/doc-size'
import type { Peer } from '../market/presence/peers'
import type { LinkStat } from '../swarm/room/link-stats'
import { colorOf, h, onNextFrame, shortId } from './dom'
import { signalingLine } from './signaling-line'
import { drawTopology } from './topology'

const maxEvents = 50

function describeCaps(caps: Capabilities): string {
  const gpu = caps.webgpu ? `WebGPU ${[caps.adapter?.vendor, caps.adapter?.architecture].filter(Boolean).join(' ') || 'adapter'}${caps.shaderF16 ? ' · f16' : ''}` : 'no WebGPU'
  const memory = caps.memoryGb !== undefined ? ` · ${caps.memoryGb} GB` : ''
  return `${gpu} · ${caps.cores} cores${memory}`
}

function describeEngine(engine: EnginePresence | undefined): string {
  if (!engine || engine.kind === 'none') return 'no model'
  const progress = engine.state === 'downloading' && engine.progress !== undefined ? ` ${Math.round(engine.progress * 100)}%` : ''
  const speed = engine.decodeTokensPerS > 0 ? ` · ${engine.decodeTokensPerS.toFixed(0)} tok/s` : ''
  return `${engine.kind} ${engine.modelId} ${engine.state}${progress}${speed}`
}

/**
 * What the market thinks of a peer: its vote reputation, whether it is suspected of claiming more
 * than it delivers, and what the room's signed ledger says it served and consumed.
 */
export interface PeerStanding {
  reputation(nodeId: string): number
  suspected(nodeId: string): boolean
  contribution(nodeId: string): Contribution
  on(event: 'ledger', listener: () => void): Unsubscribe
}

const unjudged: PeerStanding = {
  reputation: () => 1,
  suspected: () => false,
  contribution: () => ({ served: 0, consumed: 0, tasksServed: 0, tasksConsumed: 0 }),
  on: () => () => undefined,
}

const serveLabels: Record<ServeMode, string> = { off: 'serves nobody', idle: 'serves when idle', always: 'serves always' }

/** Served and consumed tokens (and tasks), from the room's signed receipts. */
function ledgerDetail(contribution: Contribution, testId: string): HTMLElement {
  const { served, consumed, tasksServed, tasksConsumed } = contribution
  return h(
    'span',
    {
      class: 'peer-detail',
      'data-testid': testId,
      'data-served': String(served),
      'data-consumed': String(consumed),
      title: 'tokens this node ran for others, and others ran for it (signed receipts in the room)',
    },
    ` · served ${plural(served, 'token', 'tokens')} (${plural(tasksServed, 'task', 'tasks')}) · consumed ${plural(consumed, 'token', 'tokens')} (${plural(tasksConsumed, 'task', 'tasks')})`,
  )
}

/** How this node's link to the peer goes, as its getStats() says; nothing for a peer with no measured link (another tab, not linked yet). */
function linkDetail(link: LinkStat | undefined): HTMLElement | null {
  if (link === undefined) return null
  return h(
    'span',
    { class: 'peer-detail', 'data-testid': 'link', 'data-relayed': String(link.relayed), title: `selected candidate pair: ${link.localType} ↔ ${link.remoteType}` },
    ' · ',
    h('span', { 'data-testid': 'link-kind' }, link.relayed ? 'relayed (TURN)' : 'direct'),
    link.rttMs === null ? null : h('span', { 'data-testid': 'link-rtt' }, ` · rtt ${Math.round(link.rttMs)} ms`),
  )
}

function peerRow(peer: Peer, standing: PeerStanding, link: LinkStat | undefined): HTMLElement {
  const reputation = standing.reputation(peer.nodeId)
  const presence = peer.presence
  return h(
    'li',
    { class: `peer${peer.compatible ? '' : ' incompatible'}`, 'data-testid': 'peer', 'data-node-id': peer.nodeId },
    h('span', { class: 'dot', style: `background:${peer.compatible ? colorOf(peer.nodeId) : '#777'}` }),
    h('code', { title: peer.nodeId }, shortId(peer.nodeId)),
    presence
      ? h(
          'span',
          { class: 'peer-detail' },
          `${presence.status}${presence.visible ? '' : ' · hidden tab'}${peer.tabs > 1 ? ` · ${peer.tabs} tabs` : ''} · ${describeEngine(presence.engine)} · ${describeCaps(presence.caps)}`,
        )
      : h('span', { class: 'peer-detail warn' }, `protocol v${peer.proto}: incompatible, ignored`),
    presence ? h('span', { class: 'peer-detail', 'data-testid': 'peer-serve', 'data-serve': presence.serve }, ` · ${serveLabels[presence.serve]}`) : null,
    peer.compatible ? ledgerDetail(standing.contribution(peer.nodeId), 'peer-ledger') : null,
    linkDetail(link),
    reputation < 0.999
      ? h('span', { class: 'peer-detail warn', 'data-testid': 'reputation', title: 'lowered when its answers lose redundancy votes' }, ` · reputation ${reputation.toFixed(2)}`)
      : null,
    standing.suspected(peer.nodeId)
      ? h('span', { class: 'peer-detail warn', 'data-testid': 'suspected', title: 'claimed a speed it did not deliver (or did not answer): passed over in awards for a while' }, ' · suspected')
      : null,
  )
}

/** The swarm at a glance: counts, my node, the topology, the peers, and joins and leaves. */
export function mountSwarmView(root: HTMLElement, node: SwarmNode, memoryCount: () => number, standing: PeerStanding = unjudged): () => void {
  const counts = h('div', { class: 'counts', 'data-testid': 'counts' })
  const signaling = h('div', { class: 'signaling-box' })
  const me = h('div', { class: 'me' })
  const topology = h('div', { class: 'topology-box', 'data-testid': 'topology' })
  const list = h('ul', { class: 'peers', 'data-testid': 'peers' })
  const events = h('ol', { class: 'events', 'data-testid': 'events' })
  root.append(h('h2', {}, 'Swarm'), counts, signaling, me, topology, h('h3', {}, 'Peers'), list, h('h3', {}, 'Activity'), events)

  const renderCounts = (): void => {
    const compatible = node.peers().filter((peer) => peer.compatible)
    const active = compatible.filter((peer) => peer.presence?.visible === true).length + 1
    counts.replaceChildren(
      h('span', { 'data-testid': 'count-peers' }, h('b', {}, plural(compatible.length, 'peer', 'peers'))),
      h('span', { 'data-testid': 'count-active' }, h('b', {}, active), ' active'),
      h('span', { 'data-testid': 'count-memory' }, h('b', {}, plural(memoryCount(), 'memory', 'memories'))),
      h(
        'span',
        { 'data-testid': 'doc-size', 'data-bytes': String(node.docSize.bytes), title: 'the room doc’s encoded size: what a newcomer downloads (measured every few seconds)' },
        h('b', {}, formatBytes(node.docSize.bytes)),
        ' doc',
      ),
    )
  }

  const renderSignaling = (): void => {
    signaling.replaceChildren(signalingLine(node.room.signaling(), node.room.links().webrtc.length, Date.now()))
  }
  // The "reconnecting in N seconds" countdown.
  const countdown = setInterval(() => {
    if (node.room.signaling().retryAtMs !== null) renderSignaling()
  }, 1_000)

  const renderNow = (): void => {
    renderCounts()
    renderSignaling()
    const peers = node.peers()
    const self = node.presence.local()
    const links = node.linkStats()
    me.replaceChildren(
      h('span', { class: 'dot', style: `background:${colorOf(node.nodeId)}` }),
      h('b', {}, 'This node '),
      h('code', { 'data-testid': 'node-id', title: node.nodeId }, node.nodeId),
      h('div', { class: 'peer-detail' }, describeCaps(self.caps)),
      h('div', { class: 'peer-detail' }, serveLabels[self.serve], ledgerDetail(standing.contribution(node.nodeId), 'my-ledger')),
    )
    topology.replaceChildren(drawTopology(self, peers))
    list.replaceChildren(
      ...(peers.length
        ? peers.map((peer) => peerRow(peer, standing, peer.presence?.linkId ? links.get(peer.presence.linkId) : undefined))
        : [h('li', { class: 'empty' }, 'No peers yet: share the room link to invite one.')]),
    )
  }

  const logEvent = (text: string): void => {
    events.prepend(h('li', {}, h('time', {}, new Date().toLocaleTimeString()), ' ', text))
    while (events.children.length > maxEvents) events.lastElementChild?.remove()
  }

  const render = onNextFrame(renderNow)
  const unsubscribes = [
    node.on('peers', render),
    node.on('memory', onNextFrame(renderCounts)),
    node.on('docSize', onNextFrame(renderCounts)),
    node.on('links', render),
    node.on('link-stats', render),
    node.on('signaling', onNextFrame(renderSignaling)),
    node.on('join', (peer) => logEvent(`${shortId(peer.nodeId)} joined`)),
    node.on('leave', (peer) => logEvent(`${shortId(peer.nodeId)} left`)),
    standing.on('ledger', render),
  ]
  renderNow()
  return () => {
    clearInterval(countdown)
    for (const unsubscribe of unsubscribes) unsubscribe()
  }
}
