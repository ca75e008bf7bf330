import { splitThinking } from '../../inference/think'
import { AbortError } from '../../shared/errors'
import { Emitter, type Unsubscribe } from '../../shared/events'
import { PlanError } from '../errors'
import type { JobHost } from '../jobs'
import type { Requirements } from '../schema'
import type { TaskHandle } from '../types'
import { stepRequest, type QuotedResult } from './roles'
import type { Plan, PlanStep } from './schema'

export type StepState = 'waiting' | 'running' | 'done' | 'failed' | 'cancelled'

/** One step of a running plan as it stands. */
export interface StepView {
  id: string
  role: PlanStep['role']
  dependsOn: string[]
  state: StepState
  /** The peer running it or that ran it (its latest award); null before the first award. */
  executor: string | null
  /** Tasks posted for it: 1, or more after a retry. */
  attempts: number
  /** Its answer once done (the thinking part left out). */
  output: string
  /** Why it failed or was retried. */
  error: string
}

export interface PlanRunEvents {
  step: StepView
}

export interface PlanRunOptions {
  /** Tasks a failed step may be posted again, each avoiding the peers that failed it; default 1. */
  retries?: number
  /** Caps each step's answer; default 512. */
  maxTokens?: number
  requirements?: Requirements
  signal?: AbortSignal
  onError?: (error: unknown) => void
}

interface Slot {
  step: PlanStep
  view: StepView
  handle: TaskHandle | null
  /** Executors awarded this step's tasks so far, for a retry to avoid. */
  tried: Set<string>
}

export const defaultStepTokens = 512

/**
 * Runs a validated plan on the market: each step is a task posted once its dependencies are
 * done, so independent steps run at once; steps running together are siblings (each goes to a
 * peer that holds none of the others, while there is one). A step's task the market could not
 * finish (each executor failed, or none bid) is posted again avoiding the peers that failed it,
 * `retries` times; then the plan fails with PlanError naming the step. The final step's answer
 * is the result.
 */
export class PlanRun {
  readonly result: Promise<string>
  readonly #slots: Slot[]
  readonly #events: Emitter<PlanRunEvents>
  /** Executors of the steps running now: the siblings of every step posted. */
  readonly #busy = new Set<string>()
  readonly #retries: number
  readonly #maxTokens: number
  #settle: { resolve: (text: string) => void; reject: (error: Error) => void } = { resolve: () => undefined, reject: () => undefined }
  #ended = false

  constructor(
    private readonly host: JobHost,
    readonly plan: Plan,
    readonly goal: string,
    private readonly options: PlanRunOptions = {},
  ) {
    this.#events = new Emitter(options.onError)
    this.#retries = Math.max(0, Math.min(3, Math.floor(options.retries ?? 1)))
    this.#maxTokens = options.maxTokens ?? defaultStepTokens
    this.#slots = plan.steps.map((step) => ({
      step,
      view: { id: step.id, role: step.role, dependsOn: [...step.dependsOn], state: 'waiting', executor: null, attempts: 0, output: '', error: '' },
      handle: null,
      tried: new Set(),
    }))
    this.result = new Promise((resolve, reject) => (this.#settle = { resolve, reject }))
    this.result.catch(() => undefined)
    const signal = options.signal
    if (signal?.aborted) {
      this.cancel()
      return
    }
    signal?.addEventListener('abort', () => this.cancel(), { once: true })
    // Next microtask: listeners added right after construction hear the first steps start.
    queueMicrotask(() => this.#schedule())
  }

  on<K extends keyof PlanRunEvents>(event: K, listener: (payload: PlanRunEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /** Every step as it stands, in plan order. */
  steps(): StepView[] {
    return this.#slots.map((slot) => ({ ...slot.view, dependsOn: [...slot.view.dependsOn] }))
  }

  /** Cancels the tasks running and every step not done; the result rejects with AbortError. */
  cancel(): void {
    if (this.#ended) return
    this.#end(new AbortError('plan cancelled'))
  }

  #update(slot: Slot, change: Partial<StepView>): void {
    Object.assign(slot.view, change)
    this.#events.emit('step', { ...slot.view, dependsOn: [...slot.view.dependsOn] })
  }

  #schedule(): void {
    if (this.#ended) return
    const done = new Set(this.#slots.filter((slot) => slot.view.state === 'done').map((slot) => slot.step.id))
    const final = this.#slots.at(-1)
    if (final && done.has(final.step.id)) return this.#finish(final.view.output)
    for (const slot of this.#slots) if (slot.view.state === 'waiting' && slot.step.dependsOn.every((dep) => done.has(dep))) this.#post(slot)
  }

  #post(slot: Slot): void {
    const byId = new Map(this.#slots.map((other) => [other.step.id, other]))
    const inputs = slot.step.dependsOn.map((dep): QuotedResult => {
      const input = byId.get(dep)
      return { id: dep, role: input?.step.role ?? 'researcher', text: input?.view.output ?? '' }
    })
    const request = stepRequest(this.goal, slot.step, inputs, this.#maxTokens)
    const handle = this.host.submit(request, this.options.requirements ?? {}, {
      // Each award adds its executor to the busy set: a step posted beside it waits for another peer while one may bid.
      siblings: this.#busy,
      exclude: () => [...slot.tried, ...this.#busy],
      onAward: (executor) => {
        if (slot.handle !== handle || this.#ended) return
        this.#release(slot)
        slot.tried.add(executor)
        this.#update(slot, { executor })
      },
    })
    slot.handle = handle
    this.#update(slot, { state: 'running', attempts: slot.view.attempts + 1, executor: null })
    handle.result.then(
      (answer) => {
        if (slot.handle !== handle || this.#ended) return
        slot.handle = null
        this.#release(slot)
        const { answer: text } = splitThinking(answer.text)
        this.#update(slot, { state: 'done', executor: answer.executor, output: text.trim() || answer.text.trim() })
        this.#schedule()
      },
      (error: unknown) => {
        if (slot.handle !== handle || this.#ended) return
        slot.handle = null
        this.#release(slot)
        const reason = error instanceof Error ? error.message : String(error)
        if (slot.view.attempts <= this.#retries) {
          this.#update(slot, { error: reason })
          return this.#post(slot)
        }
        this.#update(slot, { state: 'failed', error: reason })
        this.#end(new PlanError(`plan failed: step ${slot.step.id} (${slot.step.role}) failed ${slot.view.attempts} times, last: ${reason}`))
      },
    )
  }

  /** The step's executor is no longer busy with it: later siblings may go there again. */
  #release(slot: Slot): void {
    const executor = slot.view.executor
    if (executor === null) return
    const elsewhere = this.#slots.some((other) => other !== slot && other.handle !== null && other.view.executor === executor)
    if (!elsewhere) this.#busy.delete(executor)
  }

  #finish(text: string): void {
    this.#ended = true
    this.#settle.resolve(text)
    this.#events.clear()
  }

  #end(error: Error): void {
    this.#ended = true
    for (const slot of this.#slots) {
      slot.handle?.cancel()
      slot.handle = null
      if (slot.view.state === 'waiting' || slot.view.state === 'running') this.#update(slot, { state: 'cancelled', error: error.message })
    }
    this.#settle.reject(error)
    this.#events.clear()
  }
}
