import { ToolCallJoin } from '../inference/chunks'
import { toolCallText } from '../shared/tool-calls'
import type * as Y from 'yjs'
import type { Engine } from '../inference/engine'
import { fitToEngine } from '../inference/fit-request'
import type { MarketContext } from './context'
import type { EngineTurns } from './engine-turns'
import { type Result, type Spec } from './schema'
import { sign, signResult } from './signing'
import { appendBatch } from './task-doc'
import { encodeEmbedResult, textsOfEmbedTask, type MarketEmbedder } from './embed-task'
import { EmbedderGoneError } from './errors'
import { promptTokens } from './estimate'
import { renewEveryMs } from './award'

/** What a run may use: the node's chat engine, and its embedding model (read when the run starts). */
export interface RunWorkers {
  engine: Engine
  embedder: () => MarketEmbedder | null
}

/** How long an executor keeps its lease alive after writing its result, for the poster to see it. */
const holdAfterResultLeases = 5
const maxBatchChars = 4_000

/**
 * One award this node executes: holds the lease, runs the engine when it is free, streams
 * output in batches, writes the signed result. `stop` ends all of it.
 */
export class Run {
  readonly #abort = new AbortController()
  #seq = 0
  #buffer = ''
  #stopFlush: (() => void) | null = null
  #stopRenew: () => void = () => undefined
  /** When this run last wrote a sign of life (a renewal or an output batch), this node's clock. */
  #signOfLifeAt = -Infinity
  #flushedAt = -Infinity
  #writtenUntil = -Infinity
  #result: Result | null = null
  #resultAt = 0
  #finishedAt: number | null = null
  #stopped = false

  constructor(
    private readonly ctx: MarketContext,
    readonly spec: Spec,
    readonly epoch: number,
    private readonly task: Y.Map<unknown>,
    private readonly onEnd: (run: Run) => void,
  ) {}

  get stopped(): boolean {
    return this.#stopped
  }

  /** A method, not a field read, so that checks after an await are not narrowed away. */
  #halted(): boolean {
    return this.#stopped
  }

  get hasResult(): boolean {
    return this.#result !== null
  }

  /** When the engine gave the last of the answer (this node's clock); null until it has. */
  get finishedAt(): number | null {
    return this.#finishedAt
  }

  /** Holds the lease at once; runs the engine (the embedder for an embedding task) when `turns` gives this run its turn (by `priority`). */
  async start(turns: EngineTurns, workers: RunWorkers, priority: () => number): Promise<void> {
    this.#renew()
    const release = await turns.take(priority)
    try {
      if (this.spec.requirements.kind === 'embed') await this.#embed(workers.embedder())
      else await this.#execute(workers.engine)
    } finally {
      release()
    }
  }

  /**
   * Renews the lease every renewEveryMs, from the award on (a long prompt's prefill writes no
   * batches: the renewals cover it), and skips the signature when an output batch went out in the
   * last half period: the poster takes a fresh batch of this epoch as a renewal.
   */
  #renew(): void {
    if (this.#stopped) return
    const { clock, config, signer, timers, work, room } = this.ctx
    if (this.#result && clock() - this.#resultAt > holdAfterResultLeases * config.leaseMs) return this.stop()
    // Once the result is written, only a poster that has not read it yet needs the lease: the old, slower rate.
    const everyMs = this.#result ? config.leaseMs / 3 : renewEveryMs(config)
    if (clock() - this.#signOfLifeAt >= everyMs / 2) {
      this.#signOfLifeAt = clock()
      const unsigned = { taskId: this.spec.taskId, epoch: this.epoch, executor: signer.nodeId, until: clock() + config.leaseMs }
      // Beside the node's serial work, not behind it: a backlog of checks there (a node that just
      // joined reads the room's history) must not make a live executor look silent. A renewal that
      // finishes after a newer one is dropped, so the order of the signatures does not matter.
      work.parallel(async () => {
        const lease = await sign('lease', unsigned, room)
        if (this.#halted() || unsigned.until <= this.#writtenUntil) return
        this.#writtenUntil = unsigned.until
        this.task.set('lease', lease)
      })
    }
    this.#stopRenew = timers.after(everyMs, () => this.#renew())
  }

  async #execute(engine: Engine): Promise<void> {
    if (this.#stopped) return
    let finish: Result['finish'] = 'stop'
    let usage: Result['usage']
    let text = ''
    // Calls travel in the result text in Qwen3's format; the poster's PeerEngine parses them back.
    const calls = new ToolCallJoin()
    try {
      // The poster fitted the request to the window this node advertised; counted here with the
      // model's own tokenizer, it is fitted again if it must be (oldest turns dropped), so it never overflows.
      const { request } = await fitToEngine(engine, this.spec.request, null, this.#abort.signal)
      if (this.#halted()) return
      for await (const chunk of engine.chat(request, this.#abort.signal)) {
        if (this.#halted()) return
        const choice = chunk.choices[0]
        const content = choice.delta.content ?? ''
        text += content
        this.#append(content)
        if (choice.delta.tool_calls) calls.add(choice.delta.tool_calls)
        if (choice.finish_reason) finish = choice.finish_reason === 'tool_calls' ? 'stop' : choice.finish_reason
        if (chunk.usage) usage = chunk.usage
      }
    } catch (error) {
      this.#failed(error)
      return
    }
    if (this.#halted()) return
    const callText = calls
      .calls()
      .map((call) => toolCallText(call.name, call.arguments))
      .join('\n')
    if (callText) {
      const joined = text === '' ? callText : `\n${callText}`
      text += joined
      this.#append(joined)
    }
    this.#finishedAt = this.ctx.clock()
    this.#flush()
    this.#writeResult(text, finish, usage)
  }

  /** The engine or the embedder failed: say so in the doc (unless the run was halted), and stop. */
  #failed(error: unknown): void {
    if (!this.#halted()) {
      this.ctx.report(error)
      this.#writeFailure(error)
    }
    this.stop()
  }

  /** An embedding task: the texts' vectors as the result's text (embed-task.ts), no output batches. */
  async #embed(embedder: MarketEmbedder | null): Promise<void> {
    if (this.#stopped) return
    let text: string
    try {
      if (embedder === null || embedder.modelId !== this.spec.requirements.model) throw new EmbedderGoneError(`the embedding model ${this.spec.requirements.model ?? ''} is no longer loaded here`)
      const vectors = await embedder.embed(textsOfEmbedTask(this.spec.request), this.#abort.signal)
      text = encodeEmbedResult(embedder.modelId, vectors)
    } catch (error) {
      this.#failed(error)
      return
    }
    if (this.#halted()) return
    this.#finishedAt = this.ctx.clock()
    const tokens = promptTokens(this.spec.request)
    this.#writeResult(text, 'stop', { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens })
  }

  /** Signs and writes the result, then tells the executor this run has answered. */
  #writeResult(text: string, finish: Result['finish'], usage: Result['usage']): void {
    this.ctx.work.run(async () => {
      const { signer, room } = this.ctx
      const unsigned = { taskId: this.spec.taskId, poster: this.spec.poster, epoch: this.epoch, executor: signer.nodeId, publicKey: signer.publicKey, text, finish }
      const result = await signResult(usage ? { ...unsigned, usage } : unsigned, room)
      if (this.#halted()) return
      this.#result = result
      this.#resultAt = this.ctx.clock()
      this.task.set('result', result)
      this.onEnd(this)
    })
  }

  /** Puts the result back when a stale executor's write replaced it before the poster saw it. */
  guardResult(current: unknown): void {
    if (this.#result && !this.#stopped && current !== this.#result) this.task.set('result', this.#result)
  }

  #append(content: string): void {
    if (!content) return
    this.#buffer += content
    // The first text goes out at once (the poster is waiting for it); the rest in batches. A batch
    // due goes out with the chunk that makes it due, not only on its timer: the engine worker's
    // messages reach a hidden tab at once, its timers only once a second.
    if (this.#seq === 0 || this.#buffer.length >= maxBatchChars || this.ctx.clock() - this.#flushedAt >= this.ctx.config.outputBatchMs) return this.#flush()
    this.#stopFlush ??= this.ctx.timers.after(this.ctx.config.outputBatchMs, () => this.#flush())
  }

  #flush(): void {
    this.#stopFlush?.()
    this.#stopFlush = null
    if (!this.#buffer || this.#stopped) return
    const unsigned = { taskId: this.spec.taskId, epoch: this.epoch, seq: this.#seq++, text: this.#buffer }
    this.#buffer = ''
    this.#flushedAt = this.#signOfLifeAt = this.ctx.clock()
    this.ctx.work.run(async () => {
      const { taskId: _taskId, ...batch } = await sign('batch', unsigned, this.ctx.room)
      if (!this.#halted()) appendBatch(this.task, batch)
    })
  }

  /** Tells the poster at once that this executor cannot answer, so it re-awards instead of waiting. */
  #writeFailure(error: unknown): void {
    const reason = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500)
    const unsigned = { taskId: this.spec.taskId, epoch: this.epoch, executor: this.ctx.signer.nodeId, reason }
    this.ctx.work.run(async () => {
      const failure = await sign('failure', unsigned, this.ctx.room)
      // Stopped right after the engine failed: the poster still has to hear it, unless this node is gone.
      if (!this.ctx.work.stopped) this.task.set('failure', failure)
    })
  }

  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    this.#abort.abort()
    this.#stopRenew()
    this.#stopFlush?.()
    this.onEnd(this)
  }
}
