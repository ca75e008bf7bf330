// "Verifications per second on a node under a hostile flood": one node's MemoryStore and
// SharedNets fed thousands of hostile values, one Yjs update each (as peers' messages arrive),
// timed from the first update to the moment every value is judged. In Node, on this machine's
// WebCrypto (Ed25519); a browser tab runs the same code.
import * as Y from 'yjs'
import { newEntryId, signEntry } from '../../src/memory/entry'
import { MemoryStore } from '../../src/memory/store'
import { initialRouterNet, routerShape } from '../../src/micronets/router'
import { serializeMlp } from '../../src/micronets/serialize'
import { roomIdOf } from '../../src/shared/room-id'
import { generateKeyPair, signerFromKeyPair, signingPayload, type Signer } from '../../src/shared/sign'
import { SharedNets } from '../../src/swarm/learning/nets'
import { fmt, runSection, table } from './stats'

const memoryValues = Number(process.env.BENCH_FLOOD_ENTRIES ?? 4_000)
const netValues = Number(process.env.BENCH_FLOOD_NETS ?? 500)

interface FloodFigure {
  label: string
  values: number
  ms: number
  refused: number
}

/** The updates a hostile member would send: each value set in its own transaction of a doc of its own. */
function updatesOf(mapName: string, values: [string, unknown][]): Uint8Array[] {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  const map = doc.getMap(mapName)
  for (const [key, value] of values) map.set(key, value)
  return updates
}

async function floodMemory(label: string, signer: Signer, room: string, values: [string, unknown][]): Promise<FloodFigure> {
  const updates = updatesOf('memory', values)
  const doc = new Y.Doc()
  const store = new MemoryStore(doc, signer, room, { restoreDelayMs: 60_000 })
  const started = performance.now()
  for (const update of updates) Y.applyUpdate(doc, update, 'peer')
  await store.settled()
  const ms = performance.now() - started
  const refused = Object.values(store.refusals()).reduce((sum, count) => sum + count, 0)
  store.stop()
  return { label, values: values.length, ms, refused }
}

async function floodNets(label: string, signer: Signer, room: string, values: [string, unknown][]): Promise<FloodFigure> {
  const updates = updatesOf('nets', values)
  const doc = new Y.Doc()
  const nets = new SharedNets(doc, signer, room, { router: routerShape }, () => undefined, { restoreDelayMs: 60_000 })
  const started = performance.now()
  for (const update of updates) Y.applyUpdate(doc, update, 'peer')
  await nets.settled()
  const ms = performance.now() - started
  const refused = nets.rejected
  nets.stop()
  return { label, values: values.length, ms, refused }
}

async function memoryFloods(): Promise<FloodFigure[]> {
  const victim = await signerFromKeyPair(await generateKeyPair(false))
  const hostile = await signerFromKeyPair(await generateKeyPair(false))
  const room = await roomIdOf('bench', 'key')
  const elsewhere = await roomIdOf('bench', 'another key')
  const signed = async (count: number, inRoom: string): Promise<[string, Awaited<ReturnType<typeof signEntry>>][]> =>
    Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const id = newEntryId(hostile.nodeId)
        return [id, await signEntry(id, inRoom, { text: `flood ${index} ${'x'.repeat(200)}`, tags: ['flood'] }, hostile, Date.now())] as [string, Awaited<ReturnType<typeof signEntry>>]
      }),
    )
  const genuine = await signed(memoryValues, room)
  const forged = genuine.map(([id, entry]): [string, unknown] => [id, { ...entry, text: `${entry.text} (forged)` }])
  const copies = await signed(memoryValues, elsewhere)
  const junk = Array.from({ length: memoryValues }, (_, index): [string, unknown] => [`junk${index}`, { text: 'x'.repeat(300), sig: 'y' }])
  const overCap = Array.from({ length: memoryValues * 5 }, (_, index): [string, unknown] => [`${'0'.repeat(20)}/${String(index).padStart(12, '0')}`, { text: 'x' }])
  return [
    await floodMemory('memory: valid entries (all accepted)', victim, room, genuine),
    await floodMemory('memory: forged text, real key (signature checked, fails)', victim, room, forged),
    await floodMemory('memory: copies signed for another room (refused before the signature)', victim, room, copies),
    await floodMemory('memory: junk values (refused by schema)', victim, room, junk),
    await floodMemory(`memory: ${overCap.length} junk keys, ${overCap.length - 5_000} past the 5 000-key cap`, victim, room, overCap),
  ]
}

async function netFloods(): Promise<FloodFigure[]> {
  const victim = await signerFromKeyPair(await generateKeyPair(false))
  const room = await roomIdOf('bench', 'key')
  const weights = serializeMlp(initialRouterNet())
  const members = await Promise.all(Array.from({ length: netValues }, async () => signerFromKeyPair(await generateKeyPair(false))))
  const contributions = await Promise.all(
    members.map(async (member): Promise<[string, Record<string, unknown>]> => {
      const unsigned = { room, net: 'router', shape: routerShape, author: member.nodeId, publicKey: member.publicKey, samples: 1e9, at: Date.now(), weights }
      const sig = await member.sign(
        signingPayload('edgeswarm/nets/v2', [unsigned.room, unsigned.net, unsigned.shape, unsigned.author, unsigned.publicKey, unsigned.samples, unsigned.at, unsigned.weights]),
      )
      return [`router/${member.nodeId}`, { v: 2, ...unsigned, sig }]
    }),
  )
  const forged = contributions.map(([key, value]): [string, unknown] => [key, { ...value, samples: 5 }])
  const poisoned = contributions.map(([key, value]): [string, unknown] => [
    key,
    { ...value, weights: { ...weights, layers: weights.layers.map((layer) => ({ ...layer, weights: layer.weights.map(() => 1e12) })) } },
  ])
  return [
    await floodNets(`nets: ${netValues} valid contributions claiming 1e9 samples (all verified, averaged)`, victim, room, contributions),
    await floodNets('nets: forged sample counts, real keys (weights read, signature fails)', victim, room, forged),
    await floodNets('nets: huge weights (refused when read, no signature check)', victim, room, poisoned),
  ]
}

/** Ed25519 verifications alone, as many in flight as the floods have: the floor the others are measured against. */
async function rawVerify(count: number): Promise<FloodFigure> {
  const signer = await signerFromKeyPair(await generateKeyPair(false))
  const payload = signingPayload('bench', ['x'.repeat(300)])
  const sig = await signer.sign(payload)
  const key = await crypto.subtle.importKey(
    'raw',
    Uint8Array.from(atob(signer.publicKey.replace(/-/g, '+').replace(/_/g, '/') + '='), (c) => c.charCodeAt(0)),
    { name: 'Ed25519' },
    true,
    ['verify'],
  )
  const signature = Uint8Array.from(atob(sig.replace(/-/g, '+').replace(/_/g, '/') + '=='), (c) => c.charCodeAt(0))
  const started = performance.now()
  await Promise.all(Array.from({ length: count }, () => crypto.subtle.verify({ name: 'Ed25519' }, key, signature, payload)))
  return { label: 'for scale: bare Ed25519 verifications (WebCrypto), all in flight', values: count, ms: performance.now() - started, refused: 0 }
}

export async function benchFlood(): Promise<void> {
  const rows: string[][] = []
  const add = (figures: FloodFigure[]): void => {
    for (const figure of figures) rows.push([figure.label, String(figure.values), String(figure.refused), fmt(figure.ms, 0), fmt((figure.values / figure.ms) * 1000, 0)])
  }
  await runSection('flood', 'raw', async () => add([await rawVerify(memoryValues)]))
  await runSection('flood', 'memory', async () => add(await memoryFloods()))
  await runSection('flood', 'nets', async () => add(await netFloods()))
  table('Verifications per second on a node under a hostile flood (one update per value, Node WebCrypto, one core)', ['flood', 'values', 'refused', 'ms', 'values/s'], rows)
}
