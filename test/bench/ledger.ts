// What the contribution ledger costs a node that joins a room: the bytes of the doc map `ledger`
// when every poster holds its full 32 receipts and a carry, and the time a fresh node takes to
// check every signature (receipt and the executor's result in it) and total them.
import * as Y from 'yjs'
import { SerialWork } from '../../src/market/context'
import { Ledger } from '../../src/market/ledger'
import { maxReceiptsPerPoster } from '../../src/market/schema'
import { evidenceOf, sign, signResult } from '../../src/market/signing'
import { fixedSigner } from '../unit/market-sim/keys'
import { fmt, table } from './stats'

const roomId = 'bench-ledger'
const executors = 4

async function roomLedger(posters: number, firstKey: number): Promise<Y.Doc> {
  const doc = new Y.Doc()
  const map = doc.getMap('ledger')
  const runners = await Promise.all(Array.from({ length: executors }, (_, k) => fixedSigner(firstKey + posters + k)))
  for (let p = 0; p < posters; p++) {
    const signer = await fixedSigner(firstKey + p)
    const room = { signer, roomId }
    const pairs = runners.map((runner) => ({ executor: runner.nodeId, tasks: 10, tokens: 2_000 }))
    map.set(`${signer.nodeId}/carry`, await sign('carry', { poster: signer.nodeId, publicKey: signer.publicKey, through: 40, pairs, at: 1 }, room))
    for (let n = 41; n < 41 + maxReceiptsPerPoster; n++) {
      const runner = runners[n % executors] ?? runners[0]
      if (!runner) throw new Error('no executor')
      const taskId = `bench-task-${firstKey}-${p}-${n}`
      const usage = { prompt_tokens: 120, completion_tokens: 80, total_tokens: 200 }
      const result = await signResult(
        { taskId, poster: signer.nodeId, epoch: 1, executor: runner.nodeId, publicKey: runner.publicKey, text: 'an answer of some length '.repeat(12), finish: 'stop', usage },
        { signer: runner, roomId },
      )
      map.set(`${signer.nodeId}/${taskId}`, await sign('receipt', { poster: signer.nodeId, publicKey: signer.publicKey, n, tokens: 200, evidence: await evidenceOf(result), at: 1 }, room))
    }
  }
  return doc
}

async function readMs(source: Y.Doc, reader: number): Promise<number> {
  const doc = new Y.Doc()
  const work = new SerialWork((error) => console.error(error))
  const started = performance.now()
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(source))
  const ledger = new Ledger(
    doc,
    { signer: await fixedSigner(reader), roomId },
    Date.now,
    () => work,
    (error) => console.error(error),
  )
  ledger.start()
  // A tab's swarm view reads the totals as it draws: that read has every entry checked.
  ledger.totals()
  while (work.pending > 0) await new Promise((resolve) => setTimeout(resolve, 0))
  const ms = performance.now() - started
  if (ledger.totals().size !== executors + source.getMap('ledger').size / (maxReceiptsPerPoster + 1)) throw new Error('the ledger did not count every entry')
  ledger.stop()
  return ms
}

export async function benchLedger(): Promise<void> {
  const rows: string[][] = []
  for (const [index, posters] of [4, 16, 64].entries()) {
    const doc = await roomLedger(posters, 5_000 + index * 200)
    const bytes = Y.encodeStateAsUpdate(doc).length
    const ms = await readMs(doc, 4_999 - index)
    rows.push([String(posters), String(posters * (maxReceiptsPerPoster + 1)), fmt(bytes / 1024), fmt(bytes / posters / 1024), fmt(ms, 0), fmt((ms * 1000) / (posters * maxReceiptsPerPoster), 0)])
  }
  table(
    'ledger: a full ledger as a joining node reads it (every poster at its cap of 32 receipts + a carry; 2 signatures per receipt)',
    ['posters', 'entries', 'KiB', 'KiB/poster', 'verify+total ms', 'µs/receipt'],
    rows,
  )
}
