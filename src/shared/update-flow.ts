import type { Busy } from './busy'
import { Emitter, type Unsubscribe } from './events'

/**
 * - `current`: this tab runs the newest version it knows of;
 * - `ready`: a new version waits (its service worker is installed); the prompt shows;
 * - `applying`: it was told to take over (SKIP_WAITING sent), the page reloads once it has;
 * - `active`: the new version took over (another tab applied it) while this tab was busy; it
 *   reloads when this tab is idle, or at once when the user presses Reload.
 */
export type UpdateState = 'current' | 'ready' | 'applying' | 'active'

/** `edgeswarm.update`: this build, where the update flow stands, and a check now (tests use it). */
export interface UpdateApi {
  readonly build: string
  state(): UpdateState
  /** Asks the server for a new version now; resolves when the check is done (the prompt may follow). */
  check(): Promise<void>
  /** What this tab holds an update back for ('answer', 'download', 'draft'); empty when idle. */
  busy(): string[]
}

/** What the flow drives: the service worker registration, and the page. */
export interface UpdateTarget {
  /** Tells the waiting service worker to take over (SKIP_WAITING). */
  skipWaiting(): Promise<void>
  reload(): void
}

/** Whether any tab of the profile is busy (`ProfileBusy`). */
export interface ProfileBusyLike {
  readonly anyBusy: boolean
  on(event: 'change', listener: (busy: boolean) => void): Unsubscribe
}

interface UpdateFlowEvents {
  state: UpdateState
  error: unknown
}

/**
 * When a new version is applied: when the user presses Reload, or by itself once no tab of the
 * profile is busy; a tab whose version changed under it (another tab applied it) reloads only
 * when it is idle itself. Never a reload mid-answer or mid-download, unless the user asks.
 */
export class UpdateFlow {
  readonly #events = new Emitter<UpdateFlowEvents>()
  readonly #unsubscribe: Unsubscribe[]
  #state: UpdateState = 'current'
  /** The page is on its way out: a second reason to reload (busy and profile both turning idle) is no second reload. */
  #reloading = false

  constructor(
    private readonly target: UpdateTarget,
    private readonly busy: Busy,
    private readonly profile: ProfileBusyLike,
  ) {
    this.#unsubscribe = [profile.on('change', () => this.#settle()), busy.on('change', () => this.#settle())]
  }

  get state(): UpdateState {
    return this.#state
  }

  on<K extends keyof UpdateFlowEvents>(event: K, listener: (payload: UpdateFlowEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /** A new version is installed and waits. */
  waiting(): void {
    if (this.#state !== 'current') return
    this.#set('ready')
    this.#settle()
  }

  /** The page's service worker changed to a newer one (this tab's doing or another's). */
  controllerChanged(): void {
    if (this.#state === 'applying') return this.#reload()
    this.#set('active')
    this.#settle()
  }

  /** The user pressed Reload: apply now, busy or not. */
  applyNow(): void {
    if (this.#state === 'active') return this.#reload()
    if (this.#state === 'ready') this.#apply()
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe()
    this.#events.clear()
  }

  #settle(): void {
    if (this.#state === 'ready' && !this.profile.anyBusy) this.#apply()
    else if (this.#state === 'active' && !this.busy.busy) this.#reload()
  }

  #reload(): void {
    if (this.#reloading) return
    this.#reloading = true
    this.target.reload()
  }

  #apply(): void {
    this.#set('applying')
    this.target.skipWaiting().catch((error: unknown) => {
      // The waiting worker went away (a newer one replaced it, or the profile was cleared): offer it again when it comes.
      this.#set('current')
      this.#events.emit('error', error)
    })
  }

  #set(state: UpdateState): void {
    if (state === this.#state) return
    this.#state = state
    this.#events.emit('state', state)
  }
}
