// The contribution ledger (doc map `ledger`, contract in src/market/schema.ts): a receipt has one
// writer, the poster of its task, and cites its executor's signed result. Mallory, a member with a
// real key of her own, writes receipts every way the doc lets her; none may count.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Engine } from '../../src/inference/engine'
import type { ChatChunk, ChatRequest, EngineInfo } from '../../src/inference/types'
import { plausibleTokens } from '../../src/market/ledger'
import { maxReceiptsPerPoster, type Receipt } from '../../src/market/schema'
import { sign, type RoomSigner } from '../../src/market/signing'
import { fixedSigner } from './market-sim/keys'
import { room, testRoomId, type RoomMember } from './market-sim/room'

const ask = (k: number): ChatRequest => ({ messages: [{ role: 'user', content: `question ${k}` }], max_tokens: 4 })
const destroyAll = (members: RoomMember[]) => members.forEach((member) => member.market.destroy())
const mallory = async (): Promise<RoomSigner> => ({ signer: await fixedSigner(666), roomId: testRoomId })
const ledgerOf = (member: RoomMember): Y.Map<unknown> => member.doc.getMap('ledger')

const until = async (check: () => boolean, timeoutMs = 5_000) => {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const settled = (members: RoomMember[]) => until(() => members.every((member) => member.market.pendingWork === 0))
/** Every member reads its ledger (a node checks other posters' receipts when it reads them), then waits for the checks. */
const read = async (members: RoomMember[]) => {
  for (const member of members) member.market.ledgerTotals()
  await settled(members)
}
const totalsOf = (member: RoomMember) => JSON.stringify([...member.market.ledgerTotals()].sort(([a], [b]) => (a < b ? -1 : 1)))

/** Claims a million tokens for every answer, signed as its usage: an executor inflating what it served. */
class BraggingEngine implements Engine {
  readonly kind = 'wasm' as const
  load = () => Promise.resolve()
  unload = () => Promise.resolve()
  info = (): EngineInfo => ({ kind: 'wasm', modelId: 'sim', contextSize: 4096, availability: 'ready', supports: { tools: false, jsonSchema: false }, prefillTokensPerS: 1000, decodeTokensPerS: 1000 })
  // eslint-disable-next-line @typescript-eslint/require-await
  async *chat(): AsyncIterable<ChatChunk> {
    yield {
      id: 'b',
      object: 'chat.completion.chunk',
      created: 0,
      model: 'sim',
      choices: [{ index: 0, delta: { content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 999_999, total_tokens: 1_000_000 },
    }
  }
}

describe('market: the contribution ledger', () => {
  it('counts each task a peer ran once, the same on every node, from the executor’s signed usage', async () => {
    const { members } = await room([null, 200, 100])
    const [poster, a, b] = members as [RoomMember, RoomMember, RoomMember]
    const results = await Promise.all([1, 2, 3].map((k) => poster.market.submit(ask(k)).result))
    await until(() => poster.market.contribution(poster.signer.nodeId).tasksConsumed === 3)
    await read(members)
    const tokens = results.reduce((sum, result) => sum + (result.usage?.total_tokens ?? 0), 0)
    expect(tokens).toBeGreaterThan(0)
    expect(poster.market.contribution(poster.signer.nodeId)).toEqual({ served: 0, consumed: tokens, tasksServed: 0, tasksConsumed: 3 })
    const served = [a, b].reduce((sum, member) => sum + member.market.contribution(member.signer.nodeId).served, 0)
    expect(served).toBe(tokens)
    expect(totalsOf(a)).toBe(totalsOf(poster))
    expect(totalsOf(b)).toBe(totalsOf(poster))
    destroyAll(members)
  })

  it('a node checks other posters’ receipts only when it reads the ledger, and then counts them as everyone does', async () => {
    const { members } = await room([null, 200, null])
    const [poster, executor, watcher] = members as [RoomMember, RoomMember, RoomMember]
    await poster.market.submit(ask(1)).result
    await until(() => poster.market.contribution(executor.signer.nodeId).tasksServed === 1)
    await settled(members)
    const [key, stored] = [...ledgerOf(poster).entries()][0] as [string, Receipt]
    // Mallory's forgery in the poster's name: a node that reads nothing never looks at it.
    const m = await mallory()
    const { sig: _sig, ...unsigned } = stored
    ledgerOf(watcher).set(`${poster.signer.nodeId}/task-forged-00001`, await sign('receipt', { ...unsigned, n: 2, evidence: { ...stored.evidence, taskId: 'task-forged-00001' } }, m))
    await settled(members)
    expect(ledgerOf(watcher).get(key)).toEqual(stored)
    expect(watcher.market.rejectedReceipts).toBe(0)
    const ledgerEvents: number[] = []
    watcher.market.on('ledger', () => ledgerEvents.push(watcher.market.contribution(executor.signer.nodeId).tasksServed))
    // The first read has the receipts checked; the totals come with the next `ledger` event.
    expect(watcher.market.contribution(executor.signer.nodeId).tasksServed).toBe(0)
    await read(members)
    expect(ledgerEvents).toContain(1)
    expect(watcher.market.rejectedReceipts).toBe(1)
    expect(totalsOf(watcher)).toBe(totalsOf(poster))
    destroyAll(members)
  })

  it('a forged receipt, an inflated count, a receipt under another node’s key and a replayed one count for nothing', async () => {
    const { members } = await room([null, 200])
    const [poster, executor] = members as [RoomMember, RoomMember]
    const result = await poster.market.submit(ask(1)).result
    await until(() => poster.market.contribution(executor.signer.nodeId).tasksServed === 1)
    await read(members)
    const before = totalsOf(poster)
    const [key, stored] = [...ledgerOf(poster).entries()][0] as [string, Receipt]
    expect(key).toBe(`${poster.signer.nodeId}/${result.taskId}`)
    const m = await mallory()
    const posterRoom = { signer: poster.signer, roomId: testRoomId }
    const { sig: _sig, ...unsigned } = stored
    const otherTask = 'task-replayed-0001'
    const ledger = ledgerOf(executor)
    const rejectedBefore = executor.market.rejectedReceipts
    // Forged: in the poster's name, signed by Mallory.
    ledger.set(`${poster.signer.nodeId}/${otherTask}`, await sign('receipt', { ...unsigned, n: 2, evidence: { ...stored.evidence, taskId: otherTask } }, m))
    // Inflated, by the poster itself: more tokens than the executor signed.
    ledger.set(
      `${poster.signer.nodeId}/task-inflated-0001`,
      await sign('receipt', { ...unsigned, n: 3, tokens: stored.tokens + 1_000, evidence: { ...stored.evidence, taskId: 'task-inflated-0001' } }, posterRoom),
    )
    // Inflated evidence: the executor's signed usage raised.
    const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 1_000_000 }
    ledger.set(
      `${poster.signer.nodeId}/task-usage-00001`,
      await sign('receipt', { ...unsigned, n: 4, tokens: 1_000_000, evidence: { ...stored.evidence, taskId: 'task-usage-00001', usage } }, posterRoom),
    )
    // Under another node's key: Mallory's own, and the executor's (its served count would be its consumed).
    ledger.set(`${m.signer.nodeId}/${result.taskId}`, stored)
    ledger.set(`${m.signer.nodeId}/${result.taskId}x`, await sign('receipt', { ...unsigned, poster: m.signer.nodeId, publicKey: m.signer.publicKey }, m))
    ledger.set(`${executor.signer.nodeId}/${result.taskId}`, stored)
    // Replayed: the same receipt under another task's name, and the poster's receipt signed for another room.
    ledger.set(`${poster.signer.nodeId}/${otherTask}2`, stored)
    ledger.set(
      `${poster.signer.nodeId}/task-elsewhere-01`,
      await sign('receipt', { ...unsigned, n: 5, evidence: { ...stored.evidence, taskId: 'task-elsewhere-01' } }, { signer: poster.signer, roomId: 'another-room' }),
    )
    // A self-serve receipt: the poster naming itself as its executor.
    ledger.set(
      `${m.signer.nodeId}/task-self-000001`,
      await sign('receipt', { ...unsigned, poster: m.signer.nodeId, publicKey: m.signer.publicKey, evidence: { ...stored.evidence, executor: m.signer.nodeId } }, m),
    )
    // And the real one overwritten with junk: its poster puts it back.
    ledger.set(key, { junk: true })
    await read(members)
    expect(ledgerOf(poster).get(key)).toEqual(stored)
    expect(totalsOf(poster)).toBe(before)
    expect(totalsOf(executor)).toBe(before)
    expect(executor.market.rejectedReceipts - rejectedBefore).toBeGreaterThanOrEqual(9)
    destroyAll(members)
  })

  it('an executor that signs a million tokens of usage is credited no more than the request and answer could hold', async () => {
    const { members } = await room([null, new BraggingEngine()])
    const [poster, executor] = members as [RoomMember, RoomMember]
    const request = ask(1)
    const result = await poster.market.submit(request).result
    expect(result.usage?.total_tokens).toBe(1_000_000)
    await until(() => poster.market.contribution(executor.signer.nodeId).tasksServed === 1)
    const served = poster.market.contribution(executor.signer.nodeId).served
    expect(served).toBe(plausibleTokens(request, result.text))
    expect(served).toBeLessThan(1_000)
    destroyAll(members)
  })

  it(`keeps at most ${maxReceiptsPerPoster} receipts per poster, folding older ones into its signed carry; a folded receipt put back counts once`, async () => {
    const { members } = await room([null, 1_000])
    const [poster, executor] = members as [RoomMember, RoomMember]
    const count = maxReceiptsPerPoster + 3
    let first: [string, unknown] | null = null
    for (let k = 0; k < count; k++) {
      await poster.market.submit(ask(k)).result
      await until(() => poster.market.contribution(poster.signer.nodeId).tasksConsumed === k + 1)
      first ??= [...ledgerOf(poster).entries()][0] ?? null
    }
    await read(members)
    const keys = [...ledgerOf(poster).keys()]
    expect(keys.length).toBeLessThanOrEqual(maxReceiptsPerPoster + 1)
    expect(keys).toContain(`${poster.signer.nodeId}/carry`)
    expect(poster.market.contribution(executor.signer.nodeId).tasksServed).toBe(count)
    const before = totalsOf(poster)
    expect(totalsOf(executor)).toBe(before)
    // The first receipt was folded: put back by a hostile member, it is not counted again.
    if (!first) throw new Error('no first receipt')
    expect(ledgerOf(poster).has(first[0])).toBe(false)
    ledgerOf(executor).set(first[0], first[1])
    await read(members)
    expect(totalsOf(poster)).toBe(before)
    expect(totalsOf(executor)).toBe(before)
    destroyAll(members)
  }, 30_000)
})
