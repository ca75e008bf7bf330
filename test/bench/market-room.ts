// An in-process room for the market bench: real MarketNodes on real timers, their Y.Docs linked
// directly with a fixed one-way delay, and every update a doc broadcasts counted in bytes.
import * as Y from 'yjs'
import type { Engine } from '../../src/inference/engine'
import type { ChatChunk, ChatRequest, EngineInfo } from '../../src/inference/types'
import { AbortError } from '../../src/shared/errors'
import { MarketNode } from '../../src/market'
import type { LivePeer, MarketConfig } from '../../src/market'
import { fixedSigner } from '../unit/market-sim/keys'

const remote = Symbol('bench-remote')
const prefillTokensPerS = 1_000

/**
 * The market-sim engine's behaviour on real timers, without its 64-token cap: prefill at
 * 1000 tokens/s, then one four-character token every 1/decodeTokensPerS seconds.
 */
export class PacedEngine implements Engine {
  readonly kind = 'wasm' as const

  constructor(private readonly decodeTokensPerS: number) {}

  load(): Promise<void> {
    return Promise.resolve()
  }

  unload(): Promise<void> {
    return Promise.resolve()
  }

  info(): EngineInfo {
    return { kind: 'wasm', modelId: 'bench', contextSize: 8192, availability: 'ready', supports: { tools: false, jsonSchema: false }, prefillTokensPerS, decodeTokensPerS: this.decodeTokensPerS }
  }

  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    const promptTokens = request.messages.reduce((sum, message) => sum + Math.ceil(message.content.length / 4), 0)
    const count = request.max_tokens ?? 16
    await sleep((promptTokens / prefillTokensPerS) * 1000, signal)
    for (let k = 0; k < count; k++) {
      await sleep(1000 / this.decodeTokensPerS, signal)
      yield chunk(` w${String(k % 100).padStart(2, '0')}`, null)
    }
    yield { ...chunk('', 'stop'), usage: { prompt_tokens: promptTokens, completion_tokens: count, total_tokens: promptTokens + count } }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError('aborted'))
    const onAbort = (): void => {
      clearTimeout(handle)
      reject(new AbortError('aborted'))
    }
    const handle = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function chunk(content: string, finish: 'stop' | null): ChatChunk {
  return { id: 'bench', object: 'chat.completion.chunk', created: 0, model: 'bench', choices: [{ index: 0, delta: { content }, finish_reason: finish }] }
}

export interface RoomTraffic {
  /** Yjs updates broadcast (each once, whatever the number of receivers), and their bytes. */
  updates: number
  bytes: number
}

export interface BenchRoom {
  poster: MarketNode
  posterDoc: Y.Doc
  workers: MarketNode[]
  traffic: RoomTraffic
  errors: unknown[]
  close(): void
}

/** The market under test: this tree's MarketNode, or another version's with the same options. */
export type MarketClass = new (options: ConstructorParameters<typeof MarketNode>[0]) => MarketNode

export interface BenchRoomOptions {
  workers: number
  linkDelayMs: number
  /** Node index → its own one-way delay where it is longer (a peer on a poor link); a link takes the longer of its two ends'. */
  slowLinks?: ReadonlyMap<number, number>
  decodeTokensPerS: number
  config?: Partial<MarketConfig>
  Market?: MarketClass
}

/** Node 0 posts (no engine); nodes 1…workers run tasks. Every doc sees every other's updates. */
export async function openBenchRoom(options: BenchRoomOptions): Promise<BenchRoom> {
  const size = options.workers + 1
  const docs = Array.from({ length: size }, () => new Y.Doc())
  const delayOf = (a: number, b: number): number => Math.max(options.linkDelayMs, options.slowLinks?.get(a) ?? 0, options.slowLinks?.get(b) ?? 0)
  const traffic: RoomTraffic = { updates: 0, bytes: 0 }
  let open = true
  for (const [from, doc] of docs.entries()) {
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === remote || !open) return
      traffic.updates++
      traffic.bytes += update.byteLength
      // One delay per link: Node fires equal timeouts in order, so each link stays in order.
      for (const [to, other] of docs.entries()) {
        if (other !== doc)
          setTimeout(
            () => {
              if (open) Y.applyUpdate(other, update, remote)
            },
            delayOf(from, to),
          )
      }
    })
  }
  const signers = await Promise.all(docs.map((_doc, index) => fixedSigner(900 + index)))
  const engines = docs.map((_doc, index) => (index === 0 ? null : new PacedEngine(options.decodeTokensPerS)))
  const errors: unknown[] = []
  const markets: MarketNode[] = []
  const Market = options.Market ?? MarketNode
  const livePeers = (self: number): LivePeer[] =>
    markets.flatMap((market, index) => {
      const engine = engines[index]
      if (index === self || !engine) return []
      const info = engine.info()
      const presence = { kind: 'wasm', modelId: info.modelId, state: 'ready', prefillTokensPerS: info.prefillTokensPerS, decodeTokensPerS: info.decodeTokensPerS } as const
      return [{ nodeId: market.nodeId, engine: presence, queueLength: market.queueLength(), visible: true, linkDelayMs: delayOf(self, index) }]
    })
  for (const [index, doc] of docs.entries()) {
    const signer = signers[index]
    if (!signer) throw new Error('missing signer')
    markets.push(
      new Market({
        doc,
        signer,
        roomId: 'bench-room',
        engine: engines[index] ?? null,
        livePeers: () => livePeers(index),
        ...(options.config ? { config: options.config } : {}),
        onError: (error) => errors.push(error),
      }),
    )
  }
  const [poster, ...workers] = markets
  const posterDoc = docs[0]
  if (!poster || !posterDoc) throw new Error('empty room')
  return {
    poster,
    posterDoc,
    workers,
    traffic,
    errors,
    close: () => {
      open = false
      for (const market of markets) market.destroy()
      for (const doc of docs) doc.destroy()
    },
  }
}

/** The milliseconds from `startedMs` until `doc` holds an award for `taskId`; rejects after `timeoutMs`. */
export function awardSeen(doc: Y.Doc, taskId: string, startedMs: number, timeoutMs: number): Promise<number> {
  const tasks = doc.getMap<unknown>('tasks')
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const task = tasks.get(taskId)
      if (!(task instanceof Y.Map) || !task.has('award')) return
      done()
      resolve(performance.now() - startedMs)
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`no award for ${taskId} within ${timeoutMs} ms`))
    }, timeoutMs)
    const done = (): void => {
      clearTimeout(timer)
      tasks.unobserveDeep(check)
    }
    tasks.observeDeep(check)
    check()
  })
}
