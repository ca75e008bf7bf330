import type { Capabilities, EnginePresence, ServeMode } from '../shared/protocol'
import type { Unsubscribe } from '../shared/events'
import { plural } from '../shared/text'
import type { Contribution } from '../market/ledger'
import type { SwarmNode } from '../swarm/node'
import { formatBytes } from '../swarm/room/doc-size'
import type { Peer } from '../market/presence/peers'
import type { LinkStat } from '../swarm/room/link-stats'
import { changedOnly, colorOf, h, KeyedRows, onNextFrame, onPacedFrame, reconcile, shortId } from './dom'
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

/** A peer's row; its link's part goes in the `.link-slot` span, drawn apart (its round-trip time changes every few seconds). */
function peerRow(peer: Peer, standing: PeerStanding): HTMLElement {
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
    h('span', { class: 'link-slot' }),
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

  // Each part is redrawn only when what it shows changed: presence heartbeats and link stats
  // come every few seconds from every peer, and mostly change nothing on screen.
  const drawCounts = changedOnly()
  const drawMe = changedOnly()
  const drawTopologyOnce = changedOnly()
  const renderCounts = (): void => {
    const compatible = node.peers().filter((peer) => peer.compatible)
    const active = compatible.filter((peer) => peer.presence?.visible === true).length + 1
    const memories = memoryCount()
    const bytes = node.docSize.bytes
    drawCounts(`${compatible.length} ${active} ${memories} ${bytes}`, () =>
      counts.replaceChildren(
        h('span', { 'data-testid': 'count-peers' }, h('b', {}, plural(compatible.length, 'peer', 'peers'))),
        h('span', { 'data-testid': 'count-active' }, h('b', {}, active), ' active'),
        h('span', { 'data-testid': 'count-memory' }, h('b', {}, plural(memories, 'memory', 'memories'))),
        h(
          'span',
          { 'data-testid': 'doc-size', 'data-bytes': String(bytes), title: 'the room doc’s encoded size: what a newcomer downloads (measured every few seconds)' },
          h('b', {}, formatBytes(bytes)),
          ' doc',
        ),
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

  const rows = new KeyedRows<Peer>(
    (peer) => peerRow(peer, standing),
    (peer) =>
      JSON.stringify([
        peer.compatible,
        peer.proto,
        peer.tabs,
        peer.presence && [peer.presence.status, peer.presence.visible, describeEngine(peer.presence.engine), describeCaps(peer.presence.caps), peer.presence.serve],
        peer.compatible ? standing.contribution(peer.nodeId) : null,
        standing.reputation(peer.nodeId) < 0.999 ? standing.reputation(peer.nodeId).toFixed(2) : '',
        standing.suspected(peer.nodeId),
      ]),
  )
  const linkShown = new WeakMap<Element, string>()
  const renderNow = (): void => {
    renderCounts()
    renderSignaling()
    const peers = node.peers()
    const self = node.presence.local()
    const links = node.linkStats()
    const mine = standing.contribution(node.nodeId)
    drawMe(JSON.stringify([describeCaps(self.caps), self.serve, mine]), () =>
      me.replaceChildren(
        h('span', { class: 'dot', style: `background:${colorOf(node.nodeId)}` }),
        h('b', {}, 'This node '),
        h('code', { 'data-testid': 'node-id', title: node.nodeId }, node.nodeId),
        h('div', { class: 'peer-detail' }, describeCaps(self.caps)),
        h('div', { class: 'peer-detail' }, serveLabels[self.serve], ledgerDetail(mine, 'my-ledger')),
      ),
    )
    // The drawing reads each node's id, link id, links and whether it is compatible.
    const shape = (presence: { nodeId: string; linkId?: string; links?: readonly string[] } | null, nodeId: string): string =>
      JSON.stringify([nodeId, presence === null, presence?.linkId ?? '', presence?.links ?? []])
    drawTopologyOnce([shape(self, self.nodeId), ...peers.map((peer) => shape(peer.presence, peer.nodeId))].join('|'), () => topology.replaceChildren(drawTopology(self, peers)))
    const elements = rows.elements(peers, (peer) => peer.nodeId)
    peers.forEach((peer, index) => {
      const slot = elements[index]?.querySelector<HTMLElement>('.link-slot')
      const link = peer.presence?.linkId ? links.get(peer.presence.linkId) : undefined
      const shown = link === undefined ? '' : `${link.relayed} ${link.localType} ${link.remoteType} ${link.rttMs === null ? '' : Math.round(link.rttMs)}`
      if (slot && linkShown.get(slot) !== shown) {
        linkShown.set(slot, shown)
        slot.replaceChildren(...[linkDetail(link)].filter((part) => part !== null))
      }
    })
    if (elements.length) reconcile(list, elements)
    else list.replaceChildren(h('li', { class: 'empty' }, 'No peers yet: share the room link to invite one.'))
  }

  const logEvent = (text: string): void => {
    events.prepend(h('li', {}, h('time', {}, new Date().toLocaleTimeString()), ' ', text))
    while (events.children.length > maxEvents) events.lastElementChild?.remove()
  }

  const render = onNextFrame(renderNow)
  // One pace for both: a write changes the memory count and the doc's size together.
  const scheduleCounts = onPacedFrame(renderCounts)
  const unsubscribes = [
    node.on('peers', render),
    node.on('memory', scheduleCounts),
    node.on('docSize', scheduleCounts),
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
