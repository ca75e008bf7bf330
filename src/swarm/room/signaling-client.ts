// The page's one signaling connection over the room's signaling URLs, for y-webrtc (its
// `connectSignaling` option, patches/y-webrtc+10.3.0.patch): fails over to the next URL when
// one drops or cannot be reached, backs off with full jitter (SignalingPlan), goes back to the
// preferred URL once it answers again, and says where it stands. WebRTC links do not need it
// once they are up: they keep syncing while it is offline.
import { Emitter, type Unsubscribe } from '../../shared/events'
import { SignalingPlan, defaultBackoff, defaultPreferredProbe, type BackoffOptions, type SignalingTry } from './signaling-policy'

export interface SignalingState {
  /** 'connected': a signaling connection is open; 'offline': none is (trying one, or waiting to). */
  status: 'connected' | 'offline'
  /** The URL connected to, or being tried or waited for. */
  url: string
  readonly urls: readonly string[]
  /** Offline and waiting: when the next try starts (ms since the epoch); null while a try is under way or connected. */
  retryAtMs: number | null
  /** Failed tries in a row. */
  failures: number
}

/** What the client needs of a WebSocket (the browser's; `ws`'s in Node tests); it reads only a message's `data`. */
export interface SocketLike {
  send(text: string): void
  close(): void
  onopen: ((event: never) => void) | null
  onmessage: ((event: never) => void) | null
  onclose: ((event: never) => void) | null
  onerror: ((event: never) => void) | null
}

export interface SignalingClientOptions {
  createSocket?: (url: string) => SocketLike
  random?: () => number
  backoff?: BackoffOptions
  /** When a page on a fallback URL tries the preferred one again. */
  preferredProbe?: BackoffOptions
  /** A try that has not opened by then failed. */
  connectTimeoutMs?: number
  /** How often an open connection is pinged (the relay answers pong). */
  pingMs?: number
  /** An open connection silent this long is dead (half-open): dropped. */
  silenceMs?: number
  now?: () => number
}

type YWebrtcEvent = 'connect' | 'message' | 'disconnect'
type Timer = ReturnType<typeof setTimeout>

const defaults = { connectTimeoutMs: 10_000, pingMs: 15_000, silenceMs: 30_000 }

const ignore = (): void => undefined

/** Stops listening to `socket`; a no-op stays on error (ws, in Node, throws an error event nobody listens to). */
function detach(socket: SocketLike): void {
  socket.onopen = null
  socket.onmessage = null
  socket.onclose = null
  socket.onerror = ignore
}

/** Opens `url`; calls `opened` once it is open, or `failed` once (error, close, timeout) before. */
function dial(createSocket: (url: string) => SocketLike, url: string, timeoutMs: number, opened: (socket: SocketLike) => void, failed: () => void): () => void {
  let socket: SocketLike
  try {
    socket = createSocket(url)
  } catch {
    // A malformed URL throws at once; it fails like an unreachable one.
    let cancelled = false
    queueMicrotask(() => {
      if (!cancelled) failed()
    })
    return () => {
      cancelled = true
    }
  }
  let settled = false
  const settle = (): boolean => {
    if (settled) return false
    settled = true
    clearTimeout(timer)
    detach(socket)
    return true
  }
  const fail = (): void => {
    if (!settle()) return
    socket.close()
    failed()
  }
  const timer = setTimeout(fail, timeoutMs)
  socket.onopen = () => {
    if (settle()) opened(socket)
  }
  socket.onerror = fail
  socket.onclose = fail
  return () => {
    if (settle()) socket.close()
  }
}

/**
 * One signaling connection for all of `urls` as y-webrtc sees a connection: `connected`,
 * `send(frame)`, 'connect' / 'message' / 'disconnect', `destroy()`.
 */
export class FailoverSignalingClient {
  readonly #plan: SignalingPlan
  readonly #options: Required<SignalingClientOptions>
  readonly #handlers = new Map<YWebrtcEvent, Set<(...args: unknown[]) => void>>()
  readonly #stateEvents = new Emitter<{ state: SignalingState }>()
  #socket: SocketLike | null = null
  #cancelDial: (() => void) | null = null
  #cancelProbe: (() => void) | null = null
  #retryTimer: Timer | undefined
  #probeTimer: Timer | undefined
  #pingTimer: ReturnType<typeof setInterval> | undefined
  #lastMessageAtMs = 0
  #destroyed = false
  #state: SignalingState

  constructor(urls: readonly string[], options: SignalingClientOptions = {}) {
    this.#options = {
      createSocket: options.createSocket ?? ((url) => new WebSocket(url)),
      random: options.random ?? Math.random,
      backoff: options.backoff ?? defaultBackoff,
      preferredProbe: options.preferredProbe ?? defaultPreferredProbe,
      connectTimeoutMs: options.connectTimeoutMs ?? defaults.connectTimeoutMs,
      pingMs: options.pingMs ?? defaults.pingMs,
      silenceMs: options.silenceMs ?? defaults.silenceMs,
      now: options.now ?? Date.now,
    }
    this.#plan = new SignalingPlan(urls, this.#options.random, this.#options.backoff, this.#options.preferredProbe)
    this.#state = { status: 'offline', url: this.#plan.preferred, urls: this.#plan.urls, retryAtMs: null, failures: 0 }
    // y-webrtc attaches its handlers right after this returns; the first try starts after that.
    queueMicrotask(() => this.#schedule(this.#plan.first()))
  }

  get connected(): boolean {
    return this.#socket !== null
  }

  state(): SignalingState {
    return { ...this.#state }
  }

  onState(listener: (state: SignalingState) => void): Unsubscribe {
    return this.#stateEvents.on('state', listener)
  }

  /** y-webrtc's frames; dropped while offline (y-webrtc subscribes and announces again on 'connect'). */
  send(frame: object): void {
    this.#socket?.send(JSON.stringify(frame))
  }

  on(name: YWebrtcEvent, listener: (...args: unknown[]) => void): void {
    let listeners = this.#handlers.get(name)
    if (listeners === undefined) {
      listeners = new Set()
      this.#handlers.set(name, listeners)
    }
    listeners.add(listener)
  }

  off(name: YWebrtcEvent, listener: (...args: unknown[]) => void): void {
    this.#handlers.get(name)?.delete(listener)
  }

  destroy(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    clearTimeout(this.#retryTimer)
    this.#stopProbe()
    this.#cancelDial?.()
    this.#cancelDial = null
    const socket = this.#socket
    if (socket !== null) this.#drop(socket)
    this.#handlers.clear()
    this.#stateEvents.clear()
  }

  #emit(name: YWebrtcEvent, ...args: unknown[]): void {
    for (const listener of [...(this.#handlers.get(name) ?? [])]) {
      try {
        listener(...args)
      } catch (error) {
        console.error(error)
      }
    }
  }

  #setState(patch: Partial<SignalingState>): void {
    this.#state = { ...this.#state, ...patch, failures: this.#plan.failures }
    this.#stateEvents.emit('state', this.state())
  }

  #schedule(next: SignalingTry): void {
    if (this.#destroyed) return
    if (next.delayMs <= 0) {
      this.#try(next.url)
      return
    }
    this.#setState({ status: 'offline', url: next.url, retryAtMs: this.#options.now() + next.delayMs })
    this.#retryTimer = setTimeout(() => this.#try(next.url), next.delayMs)
  }

  #try(url: string): void {
    if (this.#destroyed) return
    this.#setState({ status: 'offline', url, retryAtMs: null })
    this.#cancelDial = dial(
      this.#options.createSocket,
      url,
      this.#options.connectTimeoutMs,
      (socket) => {
        this.#cancelDial = null
        this.#plan.connected()
        this.#adopt(socket, url)
      },
      () => {
        this.#cancelDial = null
        this.#schedule(this.#plan.failed())
      },
    )
  }

  /** An open socket becomes the connection: y-webrtc hears 'connect' and subscribes, announces. */
  #adopt(socket: SocketLike, url: string): void {
    this.#socket = socket
    this.#lastMessageAtMs = this.#options.now()
    socket.onmessage = (event: { data: unknown }) => {
      this.#lastMessageAtMs = this.#options.now()
      if (typeof event.data !== 'string') return
      let frame: unknown
      try {
        frame = JSON.parse(event.data)
      } catch {
        return
      }
      this.#emit('message', frame, this)
    }
    socket.onclose = () => this.#lost(socket)
    socket.onerror = () => this.#lost(socket)
    this.#pingTimer = setInterval(() => {
      if (this.#options.now() - this.#lastMessageAtMs >= this.#options.silenceMs) this.#lost(socket)
      else socket.send(JSON.stringify({ type: 'ping' }))
    }, this.#options.pingMs)
    this.#setState({ status: 'connected', url, retryAtMs: null })
    this.#emit('connect', { type: 'connect' }, this)
    this.#scheduleProbe()
  }

  /** Closes `socket` without a reconnect of its own; y-webrtc hears 'disconnect'. */
  #drop(socket: SocketLike): void {
    detach(socket)
    socket.close()
    clearInterval(this.#pingTimer)
    this.#socket = null
    this.#emit('disconnect', { type: 'disconnect' }, this)
  }

  #lost(socket: SocketLike): void {
    if (socket !== this.#socket) return
    this.#stopProbe()
    this.#drop(socket)
    this.#schedule(this.#plan.failed())
  }

  #scheduleProbe(): void {
    const probe = this.#plan.nextProbe()
    if (probe === null || this.#destroyed) return
    this.#probeTimer = setTimeout(() => {
      this.#cancelProbe = dial(
        this.#options.createSocket,
        probe.url,
        this.#options.connectTimeoutMs,
        (socket) => {
          this.#cancelProbe = null
          const current = this.#socket
          if (current === null) {
            // Lost the fallback meanwhile: a retry is scheduled; this one is dropped, not adopted.
            socket.close()
            return
          }
          this.#drop(current)
          this.#plan.returned()
          this.#adopt(socket, probe.url)
        },
        () => {
          this.#cancelProbe = null
          this.#scheduleProbe()
        },
      )
    }, probe.delayMs)
  }

  #stopProbe(): void {
    clearTimeout(this.#probeTimer)
    this.#cancelProbe?.()
    this.#cancelProbe = null
  }
}
