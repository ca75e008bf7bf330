// A plain page with stock y-webrtc and nothing of edgeswarm: the proof that the shared doc is
// a public contract. Built into one script by global-setup and injected into a blank page.
import sodium from 'libsodium-wrappers'
import { WebrtcProvider } from 'y-webrtc'
import * as Y from 'yjs'

interface StockClient {
  start(room: string, password: string | null, signalingUrl: string): void
  /** The room id as the README's contract computes it (set by start). */
  roomId(): Promise<string>
  memory(): Record<string, unknown>
  set(id: string, value: unknown): void
  delete(id: string): void
  /**
   * Writes a memory entry by the public contract, signed with this page's own key (made on
   * first use): `room` overrides the room id signed in (a copy "from another room").
   * Returns its id.
   */
  writeMemory(text: string, tags: string[], room?: string): Promise<string>
  /** Writes an entry whose text was changed after it was signed (a forgery the floor's readers must not count). */
  writeTamperedMemory(text: string): Promise<string>
  /** Deletes this page's own entry with a signed tombstone. */
  deleteMemory(id: string): Promise<void>
  /** Writes a tombstone for `id` signed with this page's key (a forgery when `id` is another node's). */
  forgeTombstone(id: string): Promise<void>
  /** This page's node id (the author of what writeMemory signs). */
  author(): Promise<string>
  webrtcPeers(): number
  /** Resolves when `count` entries whose text includes `marker` are in the memory map. */
  waitFor(marker: string, count: number): Promise<number>
  /** When each entry text was first seen here (epoch ms), for benchmarks. */
  arrivals: Record<string, number>
  /**
   * From now on an entry counts as arrived (in `arrivals`) only once its signature verified
   * (libsodium's Ed25519, as the app's readers check): the "stock y-webrtc + signatures" pages
   * of the perf-memory bench. Resolves when libsodium is loaded.
   */
  verifyArrivals(): Promise<void>
  /**
   * Plays a lying peer: once a task is awarded, writes a result in the awarded executor's name
   * with a real Ed25519 signature by another key. Returns how many it forged so far.
   */
  forgeResults(text: string): void
  forged(): number
  /**
   * Plays a node that publishes weights to the `nets` map, signed for real with a key of its
   * own: `weights` (a serialized net) with its first weight set to `poison` ('none': as given).
   * Returns the author id it published as.
   */
  publishNet(net: string, shape: string, weights: unknown, samples: number, poison: 'nan' | 'huge' | 'none'): Promise<string>
  /** Puts `state` in this page's awareness, as any client may (a presence with no valid signature, for one). */
  present(state: Record<string, unknown>): void
}

declare global {
  var stock: StockClient
}

const doc = new Y.Doc()
const memory = doc.getMap<unknown>('memory')
let peers = 0
let provider: WebrtcProvider | null = null

const textOf = (value: unknown): string => (typeof value === 'object' && value !== null && 'text' in value && typeof value.text === 'string' ? value.text : '')
const arrivals: Record<string, number> = {}
let verifying = false
memory.observe(() => {
  if (verifying) return
  const now = performance.timeOrigin + performance.now()
  for (const value of memory.values()) {
    const text = textOf(value)
    if (text && !(text in arrivals)) arrivals[text] = now
  }
})
const countWith = (marker: string): number => [...memory.values()].filter((value) => textOf(value).includes(marker)).length

/** What an entry's signature covers, in the contract's order (src/memory/entry.ts). */
const memoryFields = (id: string, entry: Record<string, unknown>): unknown[] => [
  'edgeswarm/memory/v2',
  entry.room,
  id,
  entry.text,
  entry.tags,
  entry.author,
  entry.publicKey,
  entry.createdAt,
  entry.updatedAt,
]

const fromBase64Url = (text: string): Uint8Array => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (char) => char.charCodeAt(0))

/** The contract's signature check of an entry (src/memory/entry.ts), and nothing else of the app's reader. */
function signatureHolds(id: string, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const entry = value as Record<string, unknown>
  if (typeof entry.sig !== 'string' || typeof entry.publicKey !== 'string') return false
  try {
    return sodium.crypto_sign_verify_detached(fromBase64Url(entry.sig), new TextEncoder().encode(JSON.stringify(memoryFields(id, entry))), fromBase64Url(entry.publicKey))
  } catch {
    return false
  }
}

/** The verifying pages' observer: each changed entry is checked once; its arrival is when its check ended. */
const onVerifiedArrivals = (event: Y.YMapEvent<unknown>): void => {
  for (const id of event.keysChanged as Set<string>) {
    const value = memory.get(id)
    const text = textOf(value)
    if (text && !(text in arrivals) && signatureHolds(id, value)) arrivals[text] = performance.timeOrigin + performance.now()
  }
}

let forgedCount = 0
const toBase64Url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
const hex = (bytes: Uint8Array): string => [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('')
const sha256 = async (text: string | Uint8Array<ArrayBuffer>): Promise<Uint8Array> =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', typeof text === 'string' ? new TextEncoder().encode(text) : text))

// The room id of the README: the first 32 hex of SHA-256 of 'edgeswarm/room/v1', name, key, and 'keyed' or 'open', NUL-separated.
let roomIdPromise: Promise<string> = Promise.reject(new Error('not started'))
roomIdPromise.catch(() => undefined)
const roomIdOf = async (room: string, key: string | null): Promise<string> => hex(await sha256(`edgeswarm/room/v1\u0000${room}\u0000${key ?? ''}\u0000${key === null ? 'open' : 'keyed'}`)).slice(0, 32)

interface Identity {
  keys: CryptoKeyPair
  publicKey: string
  author: string
}
async function newIdentity(): Promise<Identity> {
  const keys = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey))
  return { keys, publicKey: toBase64Url(raw), author: hex((await sha256(raw)).slice(0, 10)) }
}
let identity: Promise<Identity> | null = null
const me = (): Promise<Identity> => (identity ??= newIdentity())
const signJson = async (who: Identity, fields: unknown[]): Promise<string> =>
  toBase64Url(new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, who.keys.privateKey, new TextEncoder().encode(JSON.stringify(fields)))))

async function writeMemory(text: string, tags: string[], room?: string): Promise<string> {
  const who = await me()
  const roomId = room ?? (await roomIdPromise)
  const id = `${who.author}/${Math.random().toString(36).slice(2, 12).padEnd(10, 'x')}`
  const now = Date.now()
  const unsigned = { v: 2, room: roomId, text, tags, author: who.author, publicKey: who.publicKey, createdAt: now, updatedAt: now }
  memory.set(id, { ...unsigned, sig: await signJson(who, memoryFields(id, unsigned)) })
  return id
}

async function writeTamperedMemory(text: string): Promise<string> {
  const id = await writeMemory(`${text} as signed`, [])
  memory.set(id, { ...(memory.get(id) as Record<string, unknown>), text })
  return id
}

async function tombstone(id: string): Promise<void> {
  const who = await me()
  const roomId = await roomIdPromise
  const now = Date.now()
  const sig = await signJson(who, ['edgeswarm/memory-tombstone/v2', roomId, id, who.author, who.publicKey, now])
  memory.set(id, { v: 2, room: roomId, deleted: true, author: who.author, publicKey: who.publicKey, updatedAt: now, sig })
}

async function forgeInto(task: Y.Map<unknown>, text: string): Promise<void> {
  const award = task.get('award') as { taskId: string; epoch: number; executor: string } | undefined
  if (!award || task.get('forged') !== undefined) return
  task.set('forged', true)
  const keys = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])
  const publicKey = toBase64Url(new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey)))
  const sig = toBase64Url(new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, keys.privateKey, new TextEncoder().encode(text))))
  task.set('result', { taskId: award.taskId, epoch: award.epoch, executor: award.executor, publicKey, text, finish: 'stop', sig })
  forgedCount++
}

async function publishNet(net: string, shape: string, weights: unknown, samples: number, poison: 'nan' | 'huge' | 'none'): Promise<string> {
  const poisoned = structuredClone(weights) as { layers: { weights: number[] }[] }
  const first = poisoned.layers[0]
  if (first && poison !== 'none') first.weights[0] = poison === 'nan' ? Number.NaN : 1e12
  // A fresh key each time: another member.
  const who = await newIdentity()
  const room = await roomIdPromise
  const at = Date.now()
  // The contract's signing payload (src/swarm/learning/nets.ts); JSON writes NaN as null, as it does for every signer.
  const sig = await signJson(who, ['edgeswarm/nets/v2', room, net, shape, who.author, who.publicKey, samples, at, poisoned])
  doc.getMap<unknown>('nets').set(`${net}/${who.author}`, { v: 2, room, net, shape, author: who.author, publicKey: who.publicKey, samples, at, weights: poisoned, sig })
  return who.author
}

globalThis.stock = {
  publishNet,
  start(room, password, signalingUrl) {
    roomIdPromise = roomIdOf(room, password)
    provider = new WebrtcProvider(room, doc, { signaling: [signalingUrl], ...(password === null ? {} : { password }), peerOpts: { config: { iceServers: [] } } })
    provider.on('peers', ({ webrtcPeers }) => {
      peers = webrtcPeers.length
    })
  },
  present: (state) => provider?.awareness.setLocalState(state),
  roomId: () => roomIdPromise,
  memory: () => memory.toJSON(),
  set: (id, value) => memory.set(id, value),
  delete: (id) => memory.delete(id),
  writeMemory,
  writeTamperedMemory,
  deleteMemory: tombstone,
  forgeTombstone: tombstone,
  author: async () => (await me()).author,
  webrtcPeers: () => peers,
  arrivals,
  async verifyArrivals() {
    await sodium.ready
    if (verifying) return
    verifying = true
    memory.observe(onVerifiedArrivals)
  },
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
