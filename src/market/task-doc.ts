import type * as v from 'valibot'
import * as Y from 'yjs'
import {
  AwardSchema,
  BatchSchema,
  BidSchema,
  CloseSchema,
  FailureSchema,
  LapseSchema,
  LeaseSchema,
  maxBatchBytes,
  maxBids,
  maxOutputBatches,
  maxResultBytes,
  maxSmallBytes,
  maxSpecBytes,
  readValue,
  ResultSchema,
  SpecSchema,
  type Award,
  type Batch,
  type Bid,
  type Close,
  type Failure,
  type Lapse,
  type Lease,
  type LogEntry,
  type Result,
  type Spec,
  type TaskStatus,
} from './schema'

/**
 * Reads task fields through their schemas. Parses are cached per stored object, and a bad
 * value is counted once in `rejected`, however often it is read.
 */
export class TaskReader {
  rejected = 0
  readonly #parsed: WeakMap<object, unknown>
  /** Bad stored objects this reader has counted (the parses may be another reader's). */
  readonly #counted = new WeakSet<object>()

  constructor(parsed = new WeakMap<object, unknown>()) {
    this.#parsed = parsed
  }

  /** A reader of the same doc that shares this one's parses and counts its own rejections. */
  sharing(): TaskReader {
    return new TaskReader(this.#parsed)
  }

  read<S extends v.GenericSchema>(schema: S, value: unknown, maxBytes: number): v.InferOutput<S> | null {
    if (value === undefined) return null
    if (typeof value !== 'object' || value === null) {
      const parsed = readValue(schema, value, maxBytes)
      if (parsed === null) this.rejected++
      return parsed
    }
    let parsed: v.InferOutput<S> | null
    if (this.#parsed.has(value)) parsed = this.#parsed.get(value)
    else {
      parsed = readValue(schema, value, maxBytes)
      this.#parsed.set(value, parsed)
    }
    if (parsed === null && !this.#counted.has(value)) {
      this.#counted.add(value)
      this.rejected++
    }
    return parsed
  }

  task(tasks: Y.Map<unknown>, taskId: string): Y.Map<unknown> | null {
    const task = tasks.get(taskId)
    if (task instanceof Y.Map) return task
    if (task !== undefined) this.rejected++
    return null
  }

  /** A signed field of task `taskId`; null when it is missing, malformed, or names another task. */
  #own<S extends v.GenericSchema<unknown, { taskId: string }>>(task: Y.Map<unknown>, taskId: string, field: string, schema: S, maxBytes: number): v.InferOutput<S> | null {
    const value = this.read(schema, task.get(field), maxBytes)
    return value && value.taskId === taskId ? value : null
  }

  spec(task: Y.Map<unknown>, taskId: string): Spec | null {
    return this.#own(task, taskId, 'spec', SpecSchema, maxSpecBytes)
  }

  award(task: Y.Map<unknown>, taskId: string): Award | null {
    return this.#own(task, taskId, 'award', AwardSchema, maxSmallBytes)
  }

  lease(task: Y.Map<unknown>, taskId: string): Lease | null {
    return this.#own(task, taskId, 'lease', LeaseSchema, maxSmallBytes)
  }

  result(task: Y.Map<unknown>, taskId: string): Result | null {
    return this.#own(task, taskId, 'result', ResultSchema, maxResultBytes)
  }

  failure(task: Y.Map<unknown>, taskId: string): Failure | null {
    return this.#own(task, taskId, 'failure', FailureSchema, maxSmallBytes)
  }

  lapse(task: Y.Map<unknown>, taskId: string): Lapse | null {
    return this.#own(task, taskId, 'lapse', LapseSchema, maxSmallBytes)
  }

  close(task: Y.Map<unknown>, taskId: string): Close | null {
    return this.#own(task, taskId, 'close', CloseSchema, maxSmallBytes)
  }

  bids(task: Y.Map<unknown>, taskId: string): Bid[] {
    const bids = task.get('bids')
    if (!(bids instanceof Y.Map)) return []
    const valid: Bid[] = []
    for (const [bidder, value] of bids.entries()) {
      if (valid.length >= maxBids) break
      const bid = this.read(BidSchema, value, maxSmallBytes)
      if (bid && bid.bidder === bidder && bid.taskId === taskId) valid.push(bid)
    }
    return valid
  }

  /** What is stored under `nodeId` in the task's bids, unchecked. */
  bidOf(task: Y.Map<unknown>, nodeId: string): unknown {
    const bids = task.get('bids')
    return bids instanceof Y.Map ? bids.get(nodeId) : undefined
  }

  /** Valid output batches from index `from` on, with the index to read from next time. */
  batches(task: Y.Map<unknown>, from: number): { batches: Batch[]; next: number } {
    const output = task.get('output')
    if (!(output instanceof Y.Array)) return { batches: [], next: from }
    const end = Math.min(output.length, maxOutputBatches * 4)
    const batches: Batch[] = []
    for (const value of output.slice(from, end)) {
      const batch = this.read(BatchSchema, value, maxBatchBytes)
      if (batch) batches.push(batch)
    }
    return { batches, next: Math.max(from, end) }
  }
}

/** Writes a new task as its poster: the spec, empty bids and output. */
export function createTask(tasks: Y.Map<unknown>, spec: Spec): Y.Map<unknown> {
  const task = new Y.Map<unknown>()
  const write = () => {
    tasks.set(spec.taskId, task)
    task.set('spec', spec)
    task.set('bids', new Y.Map())
    task.set('output', new Y.Array())
  }
  if (tasks.doc) tasks.doc.transact(write)
  else write()
  return task
}

export function appendBatch(task: Y.Map<unknown>, batch: Batch): void {
  const output = task.get('output')
  if (output instanceof Y.Array) output.push([batch])
}

export function writeBid(task: Y.Map<unknown>, bid: Bid): void {
  const bids = task.get('bids')
  if (bids instanceof Y.Map) bids.set(bid.bidder, bid)
}

/** Appends a finished task's brief to the doc's `log`, dropping the oldest past `maxLog`. */
export function appendLog(doc: Y.Doc, entry: LogEntry, maxLog: number): void {
  const log = doc.getArray<LogEntry>('log')
  log.push([entry])
  const excess = log.length - maxLog
  if (excess > 0) log.delete(0, excess)
}

/**
 * A task's status as its records say, unverified: for display and tests. The market itself
 * never decides on it; it verifies the poster's signed award, lapse and close.
 */
export function statusOf(reader: TaskReader, task: Y.Map<unknown>, taskId: string): TaskStatus {
  const close = reader.close(task, taskId)
  if (close) return close.status
  const award = reader.award(task, taskId)
  if (!award) return 'open'
  const lapse = reader.lapse(task, taskId)
  if (lapse && lapse.epoch >= award.epoch) return 'open'
  const lease = reader.lease(task, taskId)
  return lease && lease.epoch === award.epoch ? 'running' : 'awarded'
}
