// A plain page with stock y-webrtc and nothing of edgeswarm: the proof that the shared doc is
// a public contract. Built into one script by global-setup and injected into a blank page.
import { WebrtcProvider } from 'y-webrtc'
import * as Y from 'yjs'

interface StockClient {
  start(room: string, password: string | null, signalingUrl: string): void
  memory(): Record<string, unknown>
  set(id: string, value: unknown): void
  webrtcPeers(): number
  /** Resolves when `count` entries whose text includes `marker` are in the memory map. */
  waitFor(marker: string, count: number): Promise<number>
  /** When each entry text was first seen here (epoch ms), for benchmarks. */
  arrivals: Record<string, number>
}

declare global {
  var stock: StockClient
}

const doc = new Y.Doc()
const memory = doc.getMap<unknown>('memory')
let peers = 0

const textOf = (value: unknown): string => (typeof value === 'object' && value !== null && 'text' in value && typeof value.text === 'string' ? value.text : '')
const arrivals: Record<string, number> = {}
memory.observe(() => {
  const now = performance.timeOrigin + performance.now()
  for (const value of memory.values()) {
    const text = textOf(value)
    if (text && !(text in arrivals)) arrivals[text] = now
  }
})
const countWith = (marker: string): number => [...memory.values()].filter((value) => textOf(value).includes(marker)).length

globalThis.stock = {
  start(room, password, signalingUrl) {
    const provider = new WebrtcProvider(room, doc, { signaling: [signalingUrl], ...(password === null ? {} : { password }), peerOpts: { config: { iceServers: [] } } })
    provider.on('peers', ({ webrtcPeers }) => {
      peers = webrtcPeers.length
    })
  },
  memory: () => memory.toJSON(),
  set: (id, value) => memory.set(id, value),
  webrtcPeers: () => peers,
  arrivals,
  waitFor: (marker, count) =>
    new Promise((resolve) => {
      const check = (): void => {
        const seen = countWith(marker)
        if (seen < count) return
        memory.unobserve(check)
        resolve(performance.now())
      }
      memory.observe(check)
      check()
    }),
}
