import type { LearningPoint, OnlineNet } from '../../micronets/learner'
import { fingerprintOf } from '../../micronets/federated'
import type { Sample } from '../../micronets/train'
import { Emitter, type Unsubscribe } from '../../shared/events'
import type { ContributorView, MergedNet, SharedNets } from './nets'

/** Where a net's learned state is kept between visits (IndexedDB in the app; nothing in tests). */
export interface NetPersistence {
  /** `unpublished`: the room has not had this learning yet. */
  save(net: OnlineNet, unpublished: boolean): Promise<void>
}

/** A net's learning as the dashboard and the API show it. */
export interface NetState {
  name: string
  /** Samples this node learned from. */
  samples: number
  /** Loss over this node's recent samples with the weights in use now. */
  loss: number
  history: readonly LearningPoint[]
  /** Digest of the weights in use now: equal on every node once the room has converged. */
  fingerprint: string
  /** The room's verified contributions to this net. */
  contributors: ContributorView[]
  /** Contributions refused (wrong shape, NaN or huge values, bad signature). */
  rejected: number
}

export interface LearnedNetOptions {
  online: OnlineNet
  shared: SharedNets
  persistence: NetPersistence | null
  /** Learning is published this long after the last sample, so a burst goes out once. */
  publishDelayMs: number
  /** Learning kept from an earlier visit that never reached the room: published first. */
  unpublished?: boolean
  report: (error: unknown) => void
}

/**
 * One micro-net's life on a node: it learns here (OnlineNet), its weights are kept
 * (persistence), published to the room, and replaced by the room's federated average whenever
 * that changes. Learning not yet published is never overwritten: the average is taken in
 * after our own contribution is in it.
 */
export class LearnedNet {
  readonly #options: LearnedNetOptions
  readonly #events: Emitter<{ change: NetState }>
  #merged: MergedNet
  #unpublished = false
  #publishTimer: ReturnType<typeof setTimeout> | null = null
  #saving: Promise<void> = Promise.resolve()
  #saveQueued = false
  readonly #stopListening: Unsubscribe[]

  constructor(options: LearnedNetOptions) {
    this.#options = options
    this.#events = new Emitter(options.report)
    this.#merged = options.shared.merged(this.name)
    this.#unpublished = options.unpublished === true
    if (this.#unpublished) this.#schedulePublish()
    this.#stopListening = [
      options.shared.on('merged', (merged) => {
        if (merged.net === this.name) this.#takeMerged(merged)
      }),
      options.shared.on('rejected', (rejection) => {
        if (rejection.key.startsWith(`${this.name}/`)) this.#changed()
      }),
    ]
    this.#takeMerged(this.#merged)
  }

  get name(): string {
    return this.#options.online.name
  }

  get online(): OnlineNet {
    return this.#options.online
  }

  on(event: 'change', listener: (state: NetState) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  state(): NetState {
    const { online, shared } = this.#options
    return {
      name: this.name,
      samples: online.samples,
      loss: online.recentLoss(),
      history: online.history,
      fingerprint: fingerprintOf(online.net),
      contributors: this.#merged.contributors,
      rejected: shared.rejectedFor(this.name),
    }
  }

  /** Learns from one sample now; keeps and publishes the result shortly after. */
  learn(sample: Sample): number {
    const loss = this.online.learn(sample)
    this.learned()
    return loss
  }

  /** The online net learned through its own handle (the speed predictor): keep and publish it. */
  learned(): void {
    this.#unpublished = true
    this.#schedulePublish()
    this.#save()
    this.#changed()
  }

  /** Publishes pending learning now (tests, page hide). */
  async flush(): Promise<void> {
    if (this.#publishTimer !== null) clearTimeout(this.#publishTimer)
    this.#publishTimer = null
    if (!this.#unpublished) return
    this.#unpublished = false
    await this.#options.shared.publish(this.name, this.online.net, this.online.samples)
    this.#save()
  }

  stop(): void {
    if (this.#publishTimer !== null) clearTimeout(this.#publishTimer)
    for (const stop of this.#stopListening) stop()
    this.#events.clear()
  }

  #schedulePublish(): void {
    if (this.#publishTimer !== null) clearTimeout(this.#publishTimer)
    this.#publishTimer = setTimeout(() => {
      this.#publishTimer = null
      this.flush().catch(this.#options.report)
    }, this.#options.publishDelayMs)
  }

  #takeMerged(merged: MergedNet): void {
    this.#merged = merged
    if (merged.merged && !this.#unpublished && merged.fingerprint !== fingerprintOf(this.online.net)) {
      this.online.adopt(merged.merged)
      this.#save()
    }
    this.#changed()
  }

  #save(): void {
    const persistence = this.#options.persistence
    if (!persistence) return
    // One write at a time; saves asked for while one is queued are the same write (it snapshots
    // the state when it runs). A failed write is reported and the next one tries again.
    if (this.#saveQueued) return
    this.#saveQueued = true
    this.#saving = this.#saving
      .then(() => {
        this.#saveQueued = false
        return persistence.save(this.online, this.#unpublished)
      })
      .catch(this.#options.report)
  }

  #changed(): void {
    this.#events.emit('change', this.state())
  }
}
