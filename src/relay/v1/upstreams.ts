// The upstream backend: one or more OpenAI-compatible servers (./upstream.ts), each behind its
// own circuit breaker (./breaker.ts).
//
// Routing: an upstream serves the models configured for it, or else those its GET /models lists
// (read when /v1/models is asked, when a request names a model no list has, or while a list
// could not be read; at most once per `listRefreshMs` each). A model several serve goes to the
// first of them, in the configured order, whose breaker lets it through: a preference order, not
// load spreading, so that a deployment can put the cheap or near server first and keep the
// others for failover. Upstreams whose list could not be read come last (they may serve it); a
// model no upstream may serve is a 404.
//
// Failover: a request goes on to the next upstream when one cannot be reached, answers 5xx (or
// 401/403: our key), sends nothing for the timeout, or ends its stream with no answer, as long
// as no chunk has come from it: the first chunk is what reaches the client, so after it the
// request stays with that upstream and a failure goes to the client as it is (never an answer
// spliced from two). A 4xx (400, 404, 413, 422, 429) is the client's: no failover. A refused
// connection is retried (RELAY_UPSTREAM_RETRIES) on the last candidate only: before it, the next
// upstream is the quicker answer.
//
// Breaker: every failure counts against the upstream's breaker, a broken stream included; any
// answer resets it. An open breaker skips its upstream; when it is half-open the next request
// (or model list) probes it. With every candidate skipped the client gets 503 naming the open
// breakers, with Retry-After.
import { AbortError } from '../../shared/errors'
import type { ModelInfo } from '../../shared/openai'
import type { Logger } from '../log'
import type { Backend, BackendDetails, BackendState, EmbeddingBackendRequest, Embeddings } from './backend'
import { createBreaker, type Breaker, type Trial } from './breaker'
import { ApiError, UpstreamError } from './errors'
import { createUpstreamClient, type UpstreamClient } from './upstream'
import type { UpstreamsConfig } from './upstream-config'
import { samplingFields } from './sampling'

const passedOn = samplingFields.filter((field) => field !== 'logprobs' && field !== 'top_logprobs')

/** A list read this recently is used as it is. */
const listRefreshMs = 5_000

export interface UpstreamsOptions {
  /** The breakers' clock (ms since the epoch); Date.now by default. */
  now?: () => number
}

interface Member {
  /** 1-based, as clients and the log name it: `upstream #2`. */
  number: number
  client: UpstreamClient
  breaker: Breaker
  /** What its GET /models last listed; null: never read (or configured models instead). */
  listed: readonly ModelInfo[] | null
  listedAtMs: number
  listing: Promise<void> | null
}

const configuredInfo = (id: string): ModelInfo => ({ id, object: 'model', created: 0, owned_by: 'upstream' })

/** The models `member` serves; null while it depends on a list not read yet. */
function modelsOf(member: Member): readonly string[] | null {
  const configured = member.client.target.models
  if (configured !== null) return configured
  return member.listed?.map((model) => model.id) ?? null
}

/** What failed, for the log: the upstream's own words included. */
const detailOf = (error: unknown): string => (error instanceof ApiError ? (error.detail ?? error.message) : error instanceof Error ? error.message : String(error))

/** What failed, for /healthz: the relay's words only. */
const summaryOf = (error: unknown): string => (error instanceof UpstreamError ? error.summary : error instanceof ApiError ? error.message : 'internal error')

/** How a trial ends when a request's first chunk did not come: whether to try the next upstream. */
function settleFailure(trial: Trial, error: unknown, aborted: boolean): boolean {
  if (aborted || error instanceof AbortError) {
    trial.abandoned()
    return false
  }
  if (error instanceof UpstreamError) {
    trial.failed(summaryOf(error))
    return true
  }
  // A refusal (the client's fault): the upstream answered.
  if (error instanceof ApiError) trial.succeeded()
  else trial.failed(summaryOf(error))
  return false
}

function circuitOpen(model: string, skipped: readonly Member[]): ApiError {
  const waitS = Math.max(1, Math.ceil(Math.min(...skipped.map((member) => member.breaker.waitMs())) / 1000))
  const names = skipped.map((member) => `#${member.number}`).join(', ')
  return new ApiError(
    503,
    `every upstream serving ${JSON.stringify(model)} is behind an open circuit breaker (upstream ${names}); retry after ${waitS} s`,
    'server_error',
    'upstream_circuit_open',
    null,
    { 'Retry-After': String(waitS) },
  )
}

export function createUpstreamsBackend(config: UpstreamsConfig, log: Logger, options: UpstreamsOptions = {}): Backend {
  const now = options.now ?? Date.now
  const members: Member[] = config.targets.map((target, index) => ({
    number: index + 1,
    client: createUpstreamClient(target, config, log),
    breaker: createBreaker(config.breaker, now),
    listed: null,
    listedAtMs: Number.NEGATIVE_INFINITY,
    listing: null,
  }))
  const lifetime = new AbortController()
  let closed = false

  /** Reads `member`'s model list, unless it is configured, fresh, being read, or its breaker says no. */
  function refreshList(member: Member): Promise<void> {
    if (member.client.target.models !== null || now() - member.listedAtMs < listRefreshMs) return Promise.resolve()
    if (member.listing !== null) return member.listing
    const trial = member.breaker.admit()
    if (trial === null) return Promise.resolve()
    member.listedAtMs = now()
    const reading = member.client.listModels(lifetime.signal).then(
      (listed) => {
        member.listed = listed
        trial.succeeded()
      },
      (error: unknown) => {
        settleFailure(trial, error, lifetime.signal.aborted)
        log.warn('upstream model list failed', { upstream: member.number, url: member.client.target.url, detail: detailOf(error) })
      },
    )
    member.listing = reading.finally(() => {
      member.listing = null
    })
    return member.listing
  }

  /** Reads the lists that are due; settles when they are read, or when `signal` aborts (AbortError). */
  function refreshLists(signal: AbortSignal): Promise<void> {
    const reading = Promise.all(members.map(refreshList)).then(() => undefined)
    if (signal.aborted) return Promise.reject(new AbortError('aborted'))
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new AbortError('aborted while reading the upstreams’ model lists'))
      signal.addEventListener('abort', onAbort, { once: true })
      void reading.then(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      })
    })
  }

  /**
   * The upstreams to try for `model`, in order: those that serve it, then those whose list could
   * not be read (they may). A model no list has waits for the lists due; otherwise they are read
   * on the side. Throws 404 when no upstream may serve it.
   */
  async function candidatesFor(model: string, signal: AbortSignal): Promise<Member[]> {
    const serving = (): Member[] => members.filter((member) => modelsOf(member)?.includes(model) === true)
    const unread = (): Member[] => members.filter((member) => modelsOf(member) === null)
    if (serving().length === 0) await refreshLists(signal)
    else if (unread().length > 0) void Promise.all(members.map(refreshList))
    const candidates = [...serving(), ...unread()]
    if (candidates.length > 0) return candidates
    throw new ApiError(404, `model ${JSON.stringify(model)} is not served here; GET /v1/models lists the models`, 'invalid_request_error', 'model_not_found', 'model')
  }

  /** `open`'s stream from the first upstream for `model` that answers, failing over until its first chunk. */
  async function* routed<T>(model: string, signal: AbortSignal, open: (client: UpstreamClient, retries: number) => AsyncGenerator<T>): AsyncGenerator<T> {
    if (closed) throw new ApiError(503, 'the upstream backend is closed: the relay is shutting down', 'server_error', 'backend_closed')
    const skipped: Member[] = []
    let lastFailure: Error | null = null
    const candidates = await candidatesFor(model, signal)
    for (const [index, member] of candidates.entries()) {
      const trial = member.breaker.admit()
      if (trial === null) {
        skipped.push(member)
        continue
      }
      // Retrying a refused connection is for the last resort: before it, the next upstream is quicker.
      const iterator = open(member.client, index === candidates.length - 1 ? config.retries : 0)
      try {
        let step: IteratorResult<T>
        try {
          step = await iterator.next()
        } catch (error) {
          if (!settleFailure(trial, error, signal.aborted) || !(error instanceof Error)) throw error
          lastFailure = error
          log.warn('upstream failed before answering, failing over', { upstream: member.number, url: member.client.target.url, detail: detailOf(error) })
          continue
        }
        trial.succeeded()
        try {
          for (; step.done !== true; step = await iterator.next()) yield step.value
        } catch (error) {
          // Past the first chunk the client has part of this answer: no failover.
          if (error instanceof UpstreamError && !signal.aborted) member.breaker.failed(summaryOf(error))
          throw error
        }
        return
      } finally {
        await iterator.return(undefined)
      }
    }
    if (lastFailure !== null) throw lastFailure
    throw circuitOpen(model, skipped)
  }

  /** Embeddings with the same routing, failover and breakers as a chat's first chunk (an answer is one piece). */
  async function embed(request: EmbeddingBackendRequest, signal: AbortSignal): Promise<Embeddings> {
    if (closed) throw new ApiError(503, 'the upstream backend is closed: the relay is shutting down', 'server_error', 'backend_closed')
    const skipped: Member[] = []
    let lastFailure: Error | null = null
    const candidates = await candidatesFor(request.model, signal)
    for (const [index, member] of candidates.entries()) {
      const trial = member.breaker.admit()
      if (trial === null) {
        skipped.push(member)
        continue
      }
      try {
        const embeddings = await member.client.embed(request, signal, index === candidates.length - 1 ? config.retries : 0)
        trial.succeeded()
        return embeddings
      } catch (error) {
        if (!settleFailure(trial, error, signal.aborted) || !(error instanceof Error)) throw error
        lastFailure = error
        log.warn('upstream failed to embed, failing over', { upstream: member.number, url: member.client.target.url, detail: detailOf(error) })
      }
    }
    if (lastFailure !== null) throw lastFailure
    throw circuitOpen(request.model, skipped)
  }

  async function models(signal: AbortSignal): Promise<ModelInfo[]> {
    await refreshLists(signal)
    const seen = new Set<string>()
    const union: ModelInfo[] = []
    for (const member of members) {
      const listed = member.client.target.models?.map(configuredInfo) ?? member.listed ?? []
      for (const model of listed) {
        if (seen.has(model.id)) continue
        seen.add(model.id)
        union.push(model)
      }
    }
    return union
  }

  function state(): BackendState {
    if (closed) return { state: 'unreachable', reason: 'closed' }
    const failing = members.map((member) => ({ member, snapshot: member.breaker.snapshot() })).filter(({ snapshot }) => snapshot.consecutiveFailures > 0 || snapshot.state !== 'closed')
    if (failing.length < members.length) return { state: 'ready', active: members.reduce((sum, member) => sum + member.client.active(), 0), queued: 0 }
    const reasons = failing.map(({ member, snapshot }) => (members.length === 1 ? (snapshot.lastError ?? snapshot.state) : `#${member.number}: ${snapshot.lastError ?? snapshot.state}`))
    return { state: 'unreachable', reason: reasons.join('; ') }
  }

  function details(): BackendDetails {
    return {
      upstreams: members.map((member) => {
        const { state: breaker, ...snapshot } = member.breaker.snapshot()
        return { url: member.client.target.url, models: modelsOf(member), modelsFrom: member.client.target.models === null ? 'list' : 'config', active: member.client.active(), breaker, ...snapshot }
      }),
    }
  }

  return {
    name: 'upstream',
    serves: (model) => members.some((member) => modelsOf(member)?.includes(model) === true),
    // What the relay knows goes on as the client sent it, and so do the fields it does not
    // know: the upstream answers for them. Log probabilities are refused: a whole answer drops them.
    sampling: { chat: passedOn, completion: passedOn, passesUnknown: true },
    models,
    chat: (request, signal) => routed(request.model, signal, (client, retries) => client.chat(request, signal, retries)),
    complete: (request, signal) => routed(request.model, signal, (client, retries) => client.complete(request, signal, retries)),
    embed,
    state,
    details,
    /** Later chats fail with 503; answers under way run to their end. */
    close: () => {
      closed = true
      lifetime.abort()
      return Promise.resolve()
    },
  }
}
