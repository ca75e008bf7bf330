import { AbortError } from '../../shared/errors'
import { PlanError } from '../../market/errors'
import { Emitter, type Unsubscribe } from '../../shared/events'
import { randomId } from '../../shared/ids'
import type { JobHost } from '../../market/jobs'
import { maxPlanSteps, PlanRun, validatePlan, type Plan, type StepView } from '../../market/plan'
import type { Requirements } from '../../market/schema'
import type { ChatRouter, RouteChoice } from '../routing/chat-router'
import { writePlan } from './writer'

export interface PlanOptions {
  /** A plan to run as it is (validated; the writer is skipped): `{ steps: [{ id, role, prompt, dependsOn }] }`. */
  plan?: unknown
  /** At most this many steps (1 to 8), the final writer step included. */
  maxSteps?: number
  /** Where the plan's writer runs; default `auto` (the router decides). */
  route?: RouteChoice
  /** Caps each step's answer. */
  maxTokens?: number
  /** Tasks a failed step may be posted again on other executors; default 1. */
  retries?: number
  requirements?: Requirements
  signal?: AbortSignal
}

/** A plan's life: written (or checked), running, then one end. */
export type PlanPhase = 'writing' | 'running' | 'done' | 'failed' | 'cancelled'

export interface PlanHandleEvents {
  /** The plan is known and validated: its steps are about to run. */
  plan: Plan
  step: StepView
  /** The plan's phase changed. */
  phase: PlanPhase
}

/** A plan on its way, as `edgeswarm.tasks.plan` returns it. */
export interface PlanHandle {
  readonly id: string
  readonly goal: string
  /** The validated plan; rejects with PlanError (the rule it broke) when it cannot run. */
  readonly plan: Promise<Plan>
  /** The final step's answer; rejects with PlanError (refused, or a step failed) or AbortError. */
  readonly result: Promise<string>
  /** Who wrote the plan (a node id, 'relay'), '' for a given plan or before it is written. */
  writer(): string
  phase(): PlanPhase
  /** Why it failed or was refused; '' otherwise. */
  error(): string
  steps(): StepView[]
  on<K extends keyof PlanHandleEvents>(event: K, listener: (payload: PlanHandleEvents[K]) => void): Unsubscribe
  cancel(): void
}

export interface PlannerDeps {
  router: Pick<ChatRouter, 'route'>
  market: JobHost
  onError?: (error: unknown) => void
}

const keptPlans = 8

/** The queen: has plans written by a model and runs them on the room's market. Keeps the latest few for the swarm view. */
export class Planner {
  readonly #plans: PlanHandle[] = []
  readonly #events: Emitter<{ change: undefined }>

  constructor(private readonly deps: PlannerDeps) {
    this.#events = new Emitter(deps.onError)
  }

  /** The plans of this node, newest first. */
  plans(): readonly PlanHandle[] {
    return this.#plans
  }

  /** `change`: a plan started, or a step or phase of one changed. */
  on(event: 'change', listener: () => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  plan(goal: string, options: PlanOptions = {}): PlanHandle {
    const handle = startPlan(this.deps, goal, options)
    this.#plans.unshift(handle)
    this.#plans.splice(keptPlans)
    const changed = (): void => this.#events.emit('change', undefined)
    handle.on('plan', changed)
    handle.on('step', changed)
    handle.on('phase', changed)
    changed()
    return handle
  }
}

function startPlan(deps: PlannerDeps, goal: string, options: PlanOptions): PlanHandle {
  const events = new Emitter<PlanHandleEvents>(deps.onError)
  const controller = new AbortController()
  const maxSteps = Math.max(1, Math.min(maxPlanSteps, Math.floor(options.maxSteps ?? maxPlanSteps)))
  let phase: PlanPhase = 'writing'
  let error = ''
  let writer = ''
  let run: PlanRun | null = null
  const enter = (next: PlanPhase, reason = ''): void => {
    phase = next
    error = reason
    events.emit('phase', next)
  }
  const onStop = (): void => controller.abort()
  options.signal?.addEventListener('abort', onStop, { once: true })
  if (options.signal?.aborted) controller.abort()

  const plan = (async (): Promise<Plan> => {
    if (typeof goal !== 'string' || !goal.trim()) throw new PlanError('plan refused: the goal is empty')
    if (options.plan !== undefined) return validatePlan(options.plan, { maxSteps })
    const written = await writePlan(deps.router, goal, maxSteps, options.route ?? 'auto', controller.signal)
    writer = written.writer
    return written.plan
  })()
  const result = plan.then((validated) => {
    if (controller.signal.aborted) throw new AbortError('plan cancelled')
    events.emit('plan', validated)
    run = new PlanRun(deps.market, validated, goal.trim(), {
      signal: controller.signal,
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
      ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      ...(options.requirements ? { requirements: options.requirements } : {}),
      ...(deps.onError ? { onError: deps.onError } : {}),
    })
    run.on('step', (view) => events.emit('step', view))
    enter('running')
    return run.result
  })
  plan.catch(() => undefined)
  result.then(
    () => enter('done'),
    (caught: unknown) => enter(controller.signal.aborted ? 'cancelled' : 'failed', caught instanceof Error ? caught.message : String(caught)),
  )
  void result.finally(() => options.signal?.removeEventListener('abort', onStop)).catch(() => undefined)
  return {
    id: randomId(8),
    goal,
    plan,
    result,
    writer: () => writer,
    phase: () => phase,
    error: () => error,
    steps: () => run?.steps() ?? [],
    on: (event, listener) => events.on(event, listener),
    cancel: () => controller.abort(),
  }
}
