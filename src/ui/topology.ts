import type { Presence } from '../shared/protocol'
import { plural } from '../shared/text'
import type { Peer } from '../market/presence/peers'
import { colorOf, shortId, svg } from './dom'

const size = 280
const radius = 100

interface TopologyNode {
  nodeId: string
  presence: Presence | null
  self: boolean
}

/**
 * Draws the room: every node on a circle, and a line for every WebRTC link that a node reports
 * in its presence (links are tab-to-tab; a line means the two nodes are talking directly).
 */
export function drawTopology(self: Presence, peers: readonly Peer[]): SVGSVGElement {
  const nodes: TopologyNode[] = [{ nodeId: self.nodeId, presence: self, self: true }, ...peers.map((peer) => ({ nodeId: peer.nodeId, presence: peer.presence, self: false }))]
  const center = size / 2
  const place = (index: number): { x: number; y: number } => {
    if (nodes.length === 1) return { x: center, y: center }
    const angle = (2 * Math.PI * index) / nodes.length - Math.PI / 2
    return { x: center + radius * Math.cos(angle), y: center + radius * Math.sin(angle) }
  }
  const byLinkId = new Map<string, number>()
  nodes.forEach((node, index) => {
    if (node.presence?.linkId) byLinkId.set(node.presence.linkId, index)
  })
  const drawn = new Set<string>()
  const lines: SVGElement[] = []
  nodes.forEach((node, from) => {
    for (const linkId of node.presence?.links ?? []) {
      const to = byLinkId.get(linkId)
      if (to === undefined || to === from) continue
      const pair = [from, to].sort().join('-')
      if (drawn.has(pair)) continue
      drawn.add(pair)
      const a = place(from)
      const b = place(to)
      lines.push(svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: 'topology-link' }))
    }
  })
  const circles = nodes.map((node, index) => {
    const { x, y } = place(index)
    const incompatible = node.presence === null
    return svg(
      'g',
      { class: `topology-node${node.self ? ' self' : ''}${incompatible ? ' incompatible' : ''}`, 'data-node-id': node.nodeId },
      svg('circle', { cx: x, cy: y, r: node.self ? 18 : 14, fill: incompatible ? '#777' : colorOf(node.nodeId) }),
      svg('text', { x, y: y + 32, 'text-anchor': 'middle' }, node.self ? `${shortId(node.nodeId)} (me)` : shortId(node.nodeId)),
    )
  })
  return svg(
    'svg',
    { viewBox: `0 0 ${size} ${size}`, class: 'topology', role: 'img', 'aria-label': `${plural(nodes.length, 'node', 'nodes')}, ${plural(drawn.size, 'link', 'links')}` },
    ...lines,
    ...circles,
  )
}
