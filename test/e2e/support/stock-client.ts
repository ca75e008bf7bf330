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
  /**
   * Plays a lying peer: once a task is awarded, writes a result in the awarded executor's name
   * with a real Ed25519 signature by another key. Returns how many it forged so far.
   */
  forgeResults(text: string): void
  forged(): number
  /**
   * Plays a node that publishes bad weights to the `nets` map, signed for real with a key of
   * its own: `weights` (a serialized net) with its first weight set to `poison`. Returns the
   * author id it published as.
   */
  publishNet(net: string, shape: string, weights: unknown, samples: number, poison: 'nan' | 'huge'): Promise<string>
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

let forgedCount = 0
const toBase64Url = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

async function forgeInto(task: Y.Map<unknown>, text: string): Promise<void> {
  const award = task.get('award') as { taskId: string; epoch: number; executor: string } | undefined
  if (!award || task.get('forged') !== undefined) return
  task.set('forged', true)
  const keys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']))
  const publicKey = toBase64Url(new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey)))
  const sig = toBase64Url(new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, keys.privateKey, new TextEncoder().encode(text))))
  task.set('result', { taskId: award.taskId, epoch: award.epoch, executor: award.executor, publicKey, text, finish: 'stop', sig })
  forgedCount++
}

async function publishNet(net: string, shape: string, weights: unknown, samples: number, poison: 'nan' | 'huge'): Promise<string> {
  const poisoned = structuredClone(weights) as { layers: { weights: number[] }[] }
  const first = poisoned.layers[0]
  if (first) first.weights[0] = poison === 'nan' ? Number.NaN : 1e12
  const keys = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey))
  const publicKey = toBase64Url(raw)
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', raw))
  const author = [...digest.slice(0, 10)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
  const at = Date.now()
  // The contract's signing payload (src/swarm/nets.ts); JSON writes NaN as null, as it does for every signer.
  const payload = new TextEncoder().encode(JSON.stringify(['edgeswarm/nets/v1', 1, net, shape, author, publicKey, samples, at, poisoned]))
  const sig = toBase64Url(new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, keys.privateKey, payload)))
  doc.getMap<unknown>('nets').set(`${net}/${author}`, { v: 1, net, shape, author, publicKey, samples, at, weights: poisoned, sig })
  return author
}

globalThis.stock = {
  publishNet,
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
  forgeResults: (text) => {
    const tasks = doc.getMap<Y.Map<unknown>>('tasks')
    tasks.observeDeep(() => {
      for (const task of tasks.values()) if (task instanceof Y.Map) void forgeInto(task, text)
    })
  },
  forged: () => forgedCount,
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
