import { routerFeatures, type RoutedRequest } from '../../micronets/features'
import { cloneMlp, type Mlp } from '../../micronets/mlp'
import { defaultCostQuality, inlineScorer, routeFor, type Route, type RouterScorer } from '../../micronets/router'
import { Emitter, type Unsubscribe } from '../../shared/events'
import type { LearnedNet, NetState } from './learned-net'

/** What the user (or the swarm) said about an answer of the small model, as a lesson for the router. */
export type FeedbackSignal = 'thumbs-up' | 'thumbs-down' | 'regenerate' | 'escalate' | 'vote-won' | 'vote-lost' | 'api'

/** Whether each signal says the small model's answer was good enough, and how much it counts. */
export const feedbackLessons: Record<FeedbackSignal, { good: boolean | null; weight: number }> = {
  'thumbs-up': { good: true, weight: 1 },
  'thumbs-down': { good: false, weight: 1 },
  // Asking again is a milder "not good enough" than asking for a bigger model.
  regenerate: { good: false, weight: 0.5 },
  escalate: { good: false, weight: 1 },
  // A redundant job whose answers agreed: the small model was probably right.
  'vote-won': { good: true, weight: 0.5 },
  'vote-lost': { good: false, weight: 1 },
  // A script says which: edgeswarm.router.learn(request, good).
  api: { good: null, weight: 1 },
}

export interface RouterDecisionRecord {
  id: number
  at: number
  /** The start of the prompt, for the dashboard. */
  excerpt: string
  route: Route
  confidence: number
  /** The router's P(the small model's answer is good enough). */
  good: number
  costQuality: number
  runtime: 'worker' | 'main thread'
  latencyMs: number
}

export interface FeedbackRecord {
  at: number
  signal: FeedbackSignal
  good: boolean
  excerpt: string
  loss: number
}

export interface LearningRouterEvents {
  decision: RouterDecisionRecord
  feedback: FeedbackRecord
}

export interface LearningRouterOptions {
  /** Runs the router's net off the page's thread (the micro-net worker pool); null: here. */
  workerScorer: ((net: Mlp) => RouterScorer) | null
  costQuality?: number | undefined
  report: (error: unknown) => void
}

const keptRecords = 50
const excerptChars = 80

function lastUserText(request: RoutedRequest): string {
  return [...request.messages].reverse().find((message) => message.role === 'user')?.content ?? ''
}

/**
 * The router the app routes by: the router net as this node learned it and the room averaged
 * it, run in the micro-net worker pool (or on this thread when workers cannot run it), with
 * the user's cost–quality setting; it learns from feedback on the small model's answers.
 */
export class LearningRouter {
  readonly #learned: LearnedNet
  readonly #options: LearningRouterOptions
  readonly #events: Emitter<LearningRouterEvents>
  readonly #decisions: RouterDecisionRecord[] = []
  readonly #feedback: FeedbackRecord[] = []
  #scorer: RouterScorer
  #runtime: RouterDecisionRecord['runtime']
  #nextId = 1
  /** Why the worker pool is not used, when it is not. */
  #fallbackReason = ''
  costQuality: number

  constructor(learned: LearnedNet, options: LearningRouterOptions) {
    this.#learned = learned
    this.#options = options
    this.#events = new Emitter(options.report)
    this.costQuality = options.costQuality ?? defaultCostQuality
    this.#runtime = options.workerScorer ? 'worker' : 'main thread'
    this.#scorer = this.#scorerFor(learned.online.net)
    // New weights (learned here or averaged in from the room): the worker gets the new graph.
    // Other changes (a contributor more, a refusal) keep the warm session.
    let weights = learned.state().fingerprint
    learned.on('change', (state) => {
      if (state.fingerprint === weights) return
      weights = state.fingerprint
      this.#scorer = this.#scorerFor(learned.online.net)
    })
  }

  on<K extends keyof LearningRouterEvents>(event: K, listener: (payload: LearningRouterEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  get runtime(): RouterDecisionRecord['runtime'] {
    return this.#runtime
  }

  get fallbackReason(): string {
    return this.#fallbackReason
  }

  decisions(): readonly RouterDecisionRecord[] {
    return this.#decisions
  }

  feedbackLog(): readonly FeedbackRecord[] {
    return this.#feedback
  }

  state(): NetState {
    return this.#learned.state()
  }

  async decide(request: RoutedRequest, costQuality: number = this.costQuality): Promise<RouterDecisionRecord> {
    const started = performance.now()
    const features = routerFeatures(request)
    const good = await this.#score(features)
    const decision = routeFor(Number.isFinite(good) ? good : 0, costQuality)
    const record: RouterDecisionRecord = {
      id: this.#nextId++,
      at: Date.now(),
      excerpt: lastUserText(request).slice(0, excerptChars),
      ...decision,
      good,
      costQuality,
      runtime: this.#runtime,
      latencyMs: performance.now() - started,
    }
    this.#keep(this.#decisions, record)
    this.#events.emit('decision', record)
    return record
  }

  /** Starts the worker's session before the first chat needs it (onnxruntime's start-up takes most of a second). */
  async warmUp(): Promise<void> {
    await this.#score(routerFeatures({ messages: [{ role: 'user', content: 'hello' }] }))
  }

  /** Learns from what was said of the small model's answer to `request`; `good` only for 'api'. */
  feedback(request: RoutedRequest, signal: FeedbackSignal, good?: boolean): FeedbackRecord {
    const lesson = feedbackLessons[signal]
    const label = lesson.good ?? good
    if (label === undefined) throw new RangeError(`feedback '${signal}' needs good: true or false`)
    const loss = this.#learned.learn({ input: routerFeatures(request), target: [label ? 1 : 0], weight: lesson.weight })
    const record: FeedbackRecord = { at: Date.now(), signal, good: label, excerpt: lastUserText(request).slice(0, excerptChars), loss }
    this.#keep(this.#feedback, record)
    this.#events.emit('feedback', record)
    return record
  }

  async #score(features: Float32Array): Promise<number> {
    try {
      return await this.#scorer.score(features)
    } catch (error) {
      if (this.#runtime === 'main thread') throw error
      // ort could not start in a worker (an old browser, a blocked file): route on this thread.
      this.#fallbackReason = error instanceof Error ? error.message : String(error)
      this.#options.report(new Error(`micro-net worker unavailable, routing on the page's thread: ${this.#fallbackReason}`))
      this.#runtime = 'main thread'
      this.#scorer = this.#scorerFor(this.#learned.online.net)
      return this.#scorer.score(features)
    }
  }

  #scorerFor(net: Mlp): RouterScorer {
    // A copy: the worker must run the weights of this moment, not ones learning changes later.
    const frozen = cloneMlp(net)
    return this.#runtime === 'worker' && this.#options.workerScorer ? this.#options.workerScorer(frozen) : inlineScorer(frozen)
  }

  #keep<T>(list: T[], record: T): void {
    list.push(record)
    if (list.length > keptRecords) list.shift()
  }
}
