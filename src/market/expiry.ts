import { fnv1a } from './award'
import type { MarketContext } from './context'
import type { Spec } from './schema'
import { verify } from './signing'
import type { TaskReader } from './task-doc'
import type { MarketConfig } from './types'

/**
 * Tasks whose poster never comes back. A poster signs `expiresAt` in its spec: past it (by the
 * reader's own clock, plus `expirySkewMs` for clocks that run ahead), any node may delete the
 * task. An honest poster's task has ended and been removed by then (its deadline is before its
 * expiry, less `retainMs`), so no honest node deletes a task its poster still runs. A spec's
 * expiry counts only under the poster's signature, and never later than `maxLifetimeMs` after the
 * spec's `createdAt` or after this node first saw the task: a far-future expiry, a future-dated
 * spec, or a task with no valid spec at all is gone after that long.
 */

/** What a poster signs: its deadline plus the time it keeps the finished task, at most `maxLifetimeMs`. */
export function expiresAtFor(createdAt: number, deadlineMs: number, config: MarketConfig): number {
  return createdAt + Math.min(config.maxLifetimeMs, deadlineMs + config.retainMs)
}

/** The poster's own deadline: its requested one, but always early enough to be removed before its expiry. */
export function deadlineAtOf(spec: Spec, deadlineMs: number, config: MarketConfig): number {
  return Math.min(spec.createdAt + deadlineMs, spec.expiresAt - config.retainMs)
}

/** The expiry a reader honours for a verified spec, first seen at `seenAt` by its clock. */
export function honouredExpiry(spec: Spec, seenAt: number, config: MarketConfig): number {
  return Math.min(spec.expiresAt, spec.createdAt + config.maxLifetimeMs, seenAt + config.maxLifetimeMs)
}

/** Per node and task, a spread of the deletions, so that a whole room does not delete at once. */
const spreadMs = (nodeId: string, taskId: string, config: MarketConfig): number => fnv1a(`${nodeId}/${taskId}`) % Math.max(1, Math.floor(config.expirySkewMs / 4))

/** Deletes expired tasks: one timer for the earliest, re-armed when tasks come and go. */
export class ExpirySweeper {
  readonly #seenAt = new Map<string, number>()
  /** Specs whose signature failed: their expiry is not honoured (the cap still is). */
  readonly #refused = new WeakSet<Spec>()
  /**
   * Its own count of rejections (what it reads over and over to schedule is not counted by the
   * market's reader), over the market reader's parses: a spec is parsed once per node.
   */
  readonly #reader: TaskReader
  /** Per task, its due time as last worked out, with the stored spec and the first sight it was worked out from. */
  readonly #due = new Map<string, { stored: unknown; seenAt: number; at: number; spec: Spec | null }>()
  #cancel: (() => void) | null = null
  #armedAt = Number.POSITIVE_INFINITY

  constructor(private readonly ctx: MarketContext) {
    this.#reader = ctx.reader.sharing()
  }

  /** Tasks that appeared, were replaced or deleted (all of them, at start): a task put in anew is seen anew. */
  changed(taskIds: Iterable<string>): void {
    const now = this.ctx.clock()
    for (const taskId of taskIds) {
      if (this.ctx.tasks.has(taskId)) this.#seenAt.set(taskId, now)
      else {
        this.#seenAt.delete(taskId)
        this.#due.delete(taskId)
      }
    }
    this.#arm()
  }

  stop(): void {
    this.#cancel?.()
    this.#cancel = null
  }

  /** When this node may delete the task: by the spec's expiry as it reads now (signature checked before deleting). */
  #dueAt(taskId: string, seenAt: number): { at: number; spec: Spec | null } {
    const { tasks, config, signer } = this.ctx
    const task = this.#reader.task(tasks, taskId)
    // Worked out again only when the stored spec or the first sight changed (or the spec was refused since).
    const stored = task?.get('spec')
    const known = this.#due.get(taskId)
    if (known && known.stored === stored && known.seenAt === seenAt && !(known.spec && this.#refused.has(known.spec))) return known
    const read = task && this.#reader.spec(task, taskId)
    const spec = read && !this.#refused.has(read) ? read : null
    const capAt = seenAt + config.maxLifetimeMs
    const expiry = spec ? honouredExpiry(spec, seenAt, config) : capAt
    const due = { stored, seenAt, at: expiry + config.expirySkewMs + spreadMs(signer.nodeId, taskId, config), spec }
    this.#due.set(taskId, due)
    return due
  }

  #arm(): void {
    let next = Number.POSITIVE_INFINITY
    for (const [taskId, seenAt] of this.#seenAt) next = Math.min(next, this.#dueAt(taskId, seenAt).at)
    if (next === this.#armedAt) return
    this.stop()
    this.#armedAt = next
    if (next === Number.POSITIVE_INFINITY) return
    this.#cancel = this.ctx.timers.after(Math.max(0, next - this.ctx.clock()), () => {
      this.#cancel = null
      this.#armedAt = Number.POSITIVE_INFINITY
      this.#sweep()
    })
  }

  #sweep(): void {
    const { tasks, clock, config, roomId, work, verdicts } = this.ctx
    const now = clock()
    for (const [taskId, seenAt] of [...this.#seenAt].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const task = tasks.get(taskId)
      const { at, spec } = this.#dueAt(taskId, seenAt)
      if (now < at) continue
      // Past the cap, whoever signed what: no check needed.
      if (!spec || now >= seenAt + config.maxLifetimeMs + config.expirySkewMs) {
        this.#delete(taskId, task)
        continue
      }
      work.run(async () => {
        if (await verify('spec', spec, spec.publicKey, spec.poster, roomId, verdicts)) this.#delete(taskId, task)
        else this.#refused.add(spec)
      })
    }
    work.run(() => this.#arm())
  }

  /** Deletes the task unless it was replaced meanwhile (a new task under that id is seen anew). */
  #delete(taskId: string, task: unknown): void {
    if (this.ctx.tasks.get(taskId) !== task) return
    this.ctx.tasks.delete(taskId)
    this.#seenAt.delete(taskId)
    this.#due.delete(taskId)
  }
}
