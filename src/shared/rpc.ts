import * as v from 'valibot'
import { AbortError, ChannelClosedError, rebuildError, serializeError, ValidationError } from './errors'

/**
 * One typed protocol for every worker and tab channel: `{ kind, id, payload }` both ways.
 *
 * The caller sends `{ kind: <method>, id, payload: <request> }`, and `{ kind: 'abort', id }` to
 * cancel; the callee answers with any number of `{ kind: 'event', id, payload }` (progress,
 * chunks) and then exactly one `{ kind: 'reply', id, payload }` or `{ kind: 'error', id,
 * payload: { name, message } }`, an error rebuilt on the caller's side as its own class.
 * Envelopes are checked on arrival; a bad one is dropped and never throws out of a listener.
 *
 * DOM-free: the endpoint is typed by what a Worker, a worker's global scope, a MessagePort (in
 * the browser and in Node) and a tab's address on a BroadcastChannel all offer.
 */

export interface MessageLike {
  data: unknown
}

export interface MessageEndpoint {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: MessageLike) => void): void
  removeEventListener(type: 'message', listener: (event: MessageLike) => void): void
}

/** One method: what the caller sends, what the callee answers, and what it streams before answering. */
export interface RpcMethod<Request, Reply, Event = never> {
  request: Request
  reply: Reply
  event: Event
}

/** A method map: method name → RpcMethod. 'abort', 'event', 'reply' and 'error' are the envelope's own. */
export type RpcMethods<M> = { [K in keyof M]: RpcMethod<unknown, unknown, unknown> }

type Kind<M> = keyof M & string
const reservedKinds = new Set(['abort', 'event', 'reply', 'error'])

const maxKindLength = 64
const Envelope = v.object({
  kind: v.pipe(v.string(), v.minLength(1), v.maxLength(maxKindLength)),
  id: v.pipe(v.number(), v.integer(), v.minValue(0)),
  payload: v.unknown(),
})
type Envelope = v.InferOutput<typeof Envelope>

const SerializedErrorSchema = v.object({ name: v.pipe(v.string(), v.maxLength(200)), message: v.pipe(v.string(), v.maxLength(20_000)) })

function envelope(kind: string, id: number, payload: unknown): Envelope {
  return { kind, id, payload }
}

export interface CallOptions<Event> {
  /** Aborting sends `abort`; the call then settles with what the far side answers (or the channel's close). */
  signal?: AbortSignal
  onEvent?: (event: Event) => void
}

interface Pending {
  resolve: (reply: unknown) => void
  reject: (error: Error) => void
  onEvent: ((event: unknown) => void) | undefined
  cleanup: () => void
}

export interface RpcClientOptions {
  /** Failures off the caller's path: an onEvent callback that throws, a dropped message. */
  onError?: (error: unknown) => void
}

/** The caller's side of a channel: typed calls that settle with the far side's reply or error. */
export class RpcClient<M extends RpcMethods<M>> {
  #nextId = 1
  readonly #pending = new Map<number, Pending>()
  #closed: Error | null = null

  constructor(
    private readonly endpoint: MessageEndpoint,
    private readonly options: RpcClientOptions = {},
  ) {
    endpoint.addEventListener('message', this.#onMessage)
  }

  get closed(): boolean {
    return this.#closed !== null
  }

  call<K extends Kind<M>>(kind: K, payload: M[K]['request'], options: CallOptions<M[K]['event']> = {}): Promise<M[K]['reply']> {
    const { signal, onEvent } = options
    return new Promise<M[K]['reply']>((resolve, reject) => {
      if (this.#closed) return reject(this.#closed)
      if (signal?.aborted) return reject(new AbortError('aborted'))
      const id = this.#nextId++
      const onAbort = (): void => this.#post(envelope('abort', id, null))
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#pending.set(id, {
        resolve,
        reject,
        onEvent,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      })
      this.#post(envelope(kind, id, payload))
    })
  }

  /** Stops listening; every pending call (and every later one) fails with `reason`. */
  close(reason: Error = new ChannelClosedError('the channel is closed')): void {
    if (this.#closed) return
    this.#closed = reason
    this.endpoint.removeEventListener('message', this.#onMessage)
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const call of pending) {
      call.cleanup()
      call.reject(reason)
    }
  }

  #post(message: Envelope): void {
    try {
      this.endpoint.postMessage(message)
    } catch (error) {
      // A payload that cannot be cloned (or a closed port) fails its own call, not the channel.
      this.#settle(message.id, () => new ChannelClosedError(`could not send ${message.kind}: ${error instanceof Error ? error.message : String(error)}`))
    }
  }

  #settle(id: number, outcome: (() => Error) | { reply: unknown }): void {
    const call = this.#pending.get(id)
    if (!call) return
    this.#pending.delete(id)
    call.cleanup()
    if (typeof outcome === 'function') call.reject(outcome())
    else call.resolve(outcome.reply)
  }

  readonly #onMessage = (event: MessageLike): void => {
    const parsed = v.safeParse(Envelope, event.data)
    if (!parsed.success) return
    const { kind, id, payload } = parsed.output
    const call = this.#pending.get(id)
    if (!call) return
    switch (kind) {
      case 'event':
        try {
          call.onEvent?.(payload)
        } catch (error) {
          this.#report(error)
        }
        return
      case 'reply':
        return this.#settle(id, { reply: payload })
      case 'error': {
        const serialized = v.safeParse(SerializedErrorSchema, payload)
        return this.#settle(id, () => (serialized.success ? rebuildError(serialized.output) : new ValidationError('the far side failed with an unreadable error')))
      }
    }
  }

  #report(error: unknown): void {
    try {
      ;(this.options.onError ?? console.warn)(error)
    } catch {
      // An onError that throws has nowhere left to report to.
    }
  }
}

export interface HandlerContext<Event> {
  /** Aborted when the caller sends `abort` or the server stops. */
  signal: AbortSignal
  emit: (event: Event) => void
}

export type RpcHandlers<M extends RpcMethods<M>> = {
  [K in Kind<M>]: (payload: M[K]['request'], context: HandlerContext<M[K]['event']>) => Promise<M[K]['reply']> | M[K]['reply']
}

/** Per-kind checks of what arrives, for input that does not come from our own code. */
export type RpcSchemas<M extends RpcMethods<M>> = { [K in Kind<M>]?: v.GenericSchema<unknown, M[K]['request']> }

export interface ServeOptions<M extends RpcMethods<M>> {
  schemas?: RpcSchemas<M>
  /** One request at a time in arrival order (so a dispose never overtakes a run queued before it). */
  sequential?: boolean
  /** A message that was dropped or refused: not an envelope, an unknown kind, a bad payload. */
  onDrop?: (reason: string) => void
}

/**
 * The callee's side: serves `handlers` on `endpoint` until the returned function is called
 * (which aborts whatever still runs). A failed handler answers `error`; a valid envelope of an
 * unknown kind or with a bad payload answers a ValidationError, so no caller waits forever.
 */
export function serveRpc<M extends RpcMethods<M>>(endpoint: MessageEndpoint, handlers: RpcHandlers<M>, options: ServeOptions<M> = {}): () => void {
  const running = new Map<number, AbortController>()
  let queue: Promise<void> = Promise.resolve()
  let stopped = false

  const send = (kind: string, id: number, payload: unknown): void => {
    if (stopped) return
    try {
      endpoint.postMessage(envelope(kind, id, payload))
    } catch (error) {
      if (kind !== 'error') send('error', id, serializeError(error))
    }
  }
  const drop = (reason: string): void => {
    try {
      options.onDrop?.(reason)
    } catch {
      // A counter that throws must not break the channel.
    }
  }

  const run = async (kind: Kind<M>, id: number, payload: unknown, controller: AbortController): Promise<void> => {
    const handler = handlers[kind]
    const context: HandlerContext<unknown> = {
      signal: controller.signal,
      emit: (event) => {
        if (running.get(id) === controller) send('event', id, event)
      },
    }
    try {
      const reply = await handler(payload, context)
      send('reply', id, reply ?? null)
    } catch (error) {
      send('error', id, serializeError(error))
    } finally {
      if (running.get(id) === controller) running.delete(id)
    }
  }

  const onMessage = (event: MessageLike): void => {
    const parsed = v.safeParse(Envelope, event.data)
    if (!parsed.success) return drop('not an envelope')
    const { kind, id } = parsed.output
    if (kind === 'abort') return running.get(id)?.abort()
    // Replies travelling the other way on a shared endpoint are not ours to answer.
    if (reservedKinds.has(kind)) return
    if (!Object.hasOwn(handlers, kind)) {
      drop(`unknown kind ${kind}`)
      return send('error', id, serializeError(new ValidationError(`unknown request kind ${kind}`)))
    }
    const method = kind as Kind<M>
    const schema = options.schemas?.[method]
    let payload = parsed.output.payload
    if (schema) {
      const checked = v.safeParse(schema, payload)
      if (!checked.success) {
        drop(`bad ${kind} payload`)
        return send('error', id, serializeError(new ValidationError(`bad ${kind} request: ${checked.issues[0].message}`)))
      }
      payload = checked.output
    }
    const controller = new AbortController()
    running.set(id, controller)
    if (options.sequential) queue = queue.then(() => run(method, id, payload, controller))
    else void run(method, id, payload, controller)
  }

  endpoint.addEventListener('message', onMessage)
  return () => {
    if (stopped) return
    stopped = true
    endpoint.removeEventListener('message', onMessage)
    for (const controller of running.values()) controller.abort()
    running.clear()
  }
}

/** What the client needs of a Worker: its messages, its failure, its end. */
export interface WorkerLike extends MessageEndpoint {
  addEventListener(type: 'message' | 'error', listener: (event: MessageLike & { message?: string; preventDefault?(): void }) => void): void
  terminate(): void
}

/**
 * A client for a dedicated worker: a worker that fails (a missing file, a crash) fails every
 * pending and later call with its error, never a hang; `close` ends the worker too.
 */
export function workerClient<M extends RpcMethods<M>>(worker: WorkerLike, what: string, options: RpcClientOptions = {}): RpcClient<M> {
  const client = new RpcClient<M>(worker, options)
  worker.addEventListener('error', (event) => {
    event.preventDefault?.()
    client.close(new ChannelClosedError(`the ${what} worker failed: ${event.message || 'it could not start'}`))
    worker.terminate()
  })
  return client
}
