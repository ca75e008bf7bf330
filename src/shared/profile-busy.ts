import * as v from 'valibot'
import type { Busy } from './busy'
import { Emitter, type Unsubscribe } from './events'
import { randomId } from './ids'
import type { MessageEndpoint, MessageLike } from './rpc'

/**
 * Whether any tab of this browser profile is busy (an answer streaming, a model downloading), so
 * that an update is applied by itself only when none is. Each tab says its `Busy` reasons on one
 * BroadcastChannel: when they change, again every `heartbeatMs` while busy (a tab that crashed
 * stops saying it and is forgotten after `staleAfterBeats` beats), and to a tab that opens and
 * asks. Only busy tabs are tracked; an idle tab is one that said nothing lately.
 */
export const profileBusyChannelName = 'edgeswarm-busy'

const TabId = v.pipe(v.string(), v.minLength(1), v.maxLength(64))
const BusyMessage = v.variant('kind', [
  v.object({ protocol: v.literal('edgeswarm-busy'), kind: v.literal('state'), from: TabId, reasons: v.pipe(v.array(v.pipe(v.string(), v.maxLength(64))), v.maxLength(32)) }),
  v.object({ protocol: v.literal('edgeswarm-busy'), kind: v.literal('ask'), from: TabId }),
])

export interface ProfileBusyOptions {
  heartbeatMs?: number
  staleAfterBeats?: number
  now?: () => number
}

interface ProfileBusyEvents {
  /** Whether any tab (this one included) is busy, after a change. */
  change: boolean
}

const maxTrackedTabs = 64

export class ProfileBusy {
  readonly #tabId = randomId(12)
  readonly #events = new Emitter<ProfileBusyEvents>()
  /** The other tabs that said they are busy, with why and when they last said so. */
  readonly #others = new Map<string, { reasons: string[]; seenAtMs: number }>()
  readonly #heartbeat: ReturnType<typeof setInterval>
  readonly #stopWatching: Unsubscribe
  readonly #staleAfterMs: number
  readonly #now: () => number
  #wasBusy: boolean

  constructor(
    private readonly busy: Busy,
    private readonly channel: MessageEndpoint,
    options: ProfileBusyOptions = {},
  ) {
    const heartbeatMs = options.heartbeatMs ?? 5_000
    this.#staleAfterMs = heartbeatMs * (options.staleAfterBeats ?? 3)
    this.#now = options.now ?? Date.now
    this.#wasBusy = busy.busy
    channel.addEventListener('message', this.#onMessage)
    this.#stopWatching = busy.on('change', () => {
      this.#say()
      this.#changed()
    })
    this.#heartbeat = setInterval(() => {
      if (this.busy.busy) this.#say()
      this.#forgetStale()
    }, heartbeatMs)
    channel.postMessage({ protocol: 'edgeswarm-busy', kind: 'ask', from: this.#tabId })
    if (busy.busy) this.#say()
  }

  /** Whether this tab or any other tab of the profile is busy now. */
  get anyBusy(): boolean {
    this.#forgetStale()
    return this.busy.busy || this.#others.size > 0
  }

  /** Why the other tabs are busy, one entry per busy tab. */
  otherReasons(): string[][] {
    this.#forgetStale()
    return [...this.#others.values()].map((tab) => [...tab.reasons])
  }

  on<K extends keyof ProfileBusyEvents>(event: K, listener: (payload: ProfileBusyEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /** Stops listening; the other tabs hear that this one is idle. */
  close(): void {
    clearInterval(this.#heartbeat)
    this.#stopWatching()
    this.channel.removeEventListener('message', this.#onMessage)
    this.channel.postMessage({ protocol: 'edgeswarm-busy', kind: 'state', from: this.#tabId, reasons: [] })
    this.#events.clear()
  }

  #say(): void {
    this.channel.postMessage({ protocol: 'edgeswarm-busy', kind: 'state', from: this.#tabId, reasons: this.busy.reasons() })
  }

  readonly #onMessage = (event: MessageLike): void => {
    const parsed = v.safeParse(BusyMessage, event.data)
    if (!parsed.success || parsed.output.from === this.#tabId) return
    const message = parsed.output
    if (message.kind === 'ask') {
      if (this.busy.busy) this.#say()
      return
    }
    if (message.reasons.length === 0) this.#others.delete(message.from)
    else if (this.#others.has(message.from) || this.#others.size < maxTrackedTabs) this.#others.set(message.from, { reasons: message.reasons, seenAtMs: this.#now() })
    this.#changed()
  }

  #forgetStale(): void {
    const oldestMs = this.#now() - this.#staleAfterMs
    let forgot = false
    for (const [tabId, tab] of this.#others) {
      if (tab.seenAtMs >= oldestMs) continue
      this.#others.delete(tabId)
      forgot = true
    }
    if (forgot) this.#changed()
  }

  #changed(): void {
    const busy = this.busy.busy || this.#others.size > 0
    if (busy === this.#wasBusy) return
    this.#wasBusy = busy
    this.#events.emit('change', busy)
  }
}
