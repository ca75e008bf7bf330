/*
 * The task market's part of the shared doc (a public contract; see DESIGN.md "The task market").
 *
 * doc.getMap('tasks'): taskId → Y.Map, one per task, created by its poster:
 *   spec    signed by the poster: { v: 1, taskId, request (OpenAI chat request), requirements
 *           { contextSize?, engineKinds?, model?, deadlineMs?, redundancy? }, poster, publicKey,
 *           createdAt, sig }
 *   bids    Y.Map bidderNodeId → signed bid { taskId, bidder, estimateMs, at, publicKey, sig }
 *   award   signed by the poster: { taskId, epoch, executor, at, sig } (epoch starts at 1)
 *   lease   written by the executor: { epoch, executor, until } (renewed every leaseMs / 3)
 *   output  Y.Array of { epoch, seq, text } batches, appended by the executor of `epoch`
 *   result  signed by the executor: { taskId, epoch, executor, publicKey, text, finish, usage?, sig }
 *   status  'open' | 'awarded' | 'running' | 'done' | 'failed' | 'cancelled' (the poster's view)
 *   cancel  signed by the poster: { taskId, at, sig }
 *   reason  why a task failed, in words (poster)
 * A write whose epoch is not the current award's epoch is ignored (fencing); only the poster
 * writes spec, award, status, cancel, reason.
 * doc.getArray('log'): finished tasks in brief ({ taskId, poster, executor, epoch, status,
 *   chars, createdAt, finishedAt }), capped; the task itself is removed after a while.
 * doc.getMap('votes'): jobId → signed vote of a redundant job { jobId, poster, publicKey,
 *   winners, outvoted, at, sig }; every node derives the same reputation from it.
 * Readers validate every value against these schemas and size limits; a bad one is dropped.
 */
import * as v from 'valibot'
import { jsonByteLength } from '../../shared/encoding'
import { ChatRequestSchema } from '../../inference/types'

export const maxSpecBytes = 256 * 1024
export const maxSmallBytes = 2 * 1024
export const maxBatchBytes = 16 * 1024
export const maxResultBytes = 256 * 1024
export const maxOutputBatches = 4_096
export const maxBids = 256

export const NodeIdSchema = v.pipe(v.string(), v.regex(/^[0-9a-f]{20}$/))
const PublicKey = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/))
const Signature = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{86}$/))
export const TaskIdSchema = v.pipe(v.string(), v.regex(/^[a-z0-9-]{8,64}$/))
const Time = v.pipe(v.number(), v.integer(), v.minValue(0))
const Epoch = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))

export const RequirementsSchema = v.object({
  contextSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  engineKinds: v.optional(v.pipe(v.array(v.picklist(['webgpu', 'wasm'])), v.maxLength(2))),
  model: v.optional(v.pipe(v.string(), v.maxLength(128))),
  deadlineMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  redundancy: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16))),
})
export type Requirements = v.InferOutput<typeof RequirementsSchema>

export const SpecSchema = v.object({
  v: v.literal(1),
  taskId: TaskIdSchema,
  request: ChatRequestSchema,
  requirements: RequirementsSchema,
  poster: NodeIdSchema,
  publicKey: PublicKey,
  createdAt: Time,
  sig: Signature,
})
export type Spec = v.InferOutput<typeof SpecSchema>

export const BidSchema = v.object({
  taskId: TaskIdSchema,
  bidder: NodeIdSchema,
  estimateMs: v.pipe(v.number(), v.minValue(0), v.maxValue(1e9)),
  at: Time,
  publicKey: PublicKey,
  sig: Signature,
})
export type Bid = v.InferOutput<typeof BidSchema>

export const AwardSchema = v.object({ taskId: TaskIdSchema, epoch: Epoch, executor: NodeIdSchema, at: Time, sig: Signature })
export type Award = v.InferOutput<typeof AwardSchema>

export const LeaseSchema = v.object({ epoch: Epoch, executor: NodeIdSchema, until: Time })
export type Lease = v.InferOutput<typeof LeaseSchema>

export const BatchSchema = v.object({
  epoch: Epoch,
  seq: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(maxOutputBatches)),
  text: v.pipe(v.string(), v.maxLength(8_000)),
})
export type Batch = v.InferOutput<typeof BatchSchema>

const Count = v.pipe(v.number(), v.integer(), v.minValue(0))
export const ResultSchema = v.object({
  taskId: TaskIdSchema,
  epoch: Epoch,
  executor: NodeIdSchema,
  publicKey: PublicKey,
  text: v.pipe(v.string(), v.maxLength(200_000)),
  finish: v.picklist(['stop', 'length', 'abort']),
  usage: v.optional(v.object({ prompt_tokens: Count, completion_tokens: Count, total_tokens: Count })),
  sig: Signature,
})
export type Result = v.InferOutput<typeof ResultSchema>

export const CancelSchema = v.object({ taskId: TaskIdSchema, at: Time, sig: Signature })
export type Cancel = v.InferOutput<typeof CancelSchema>

export const StatusSchema = v.picklist(['open', 'awarded', 'running', 'done', 'failed', 'cancelled'])
export type TaskStatus = v.InferOutput<typeof StatusSchema>

export const LogEntrySchema = v.object({
  taskId: TaskIdSchema,
  poster: NodeIdSchema,
  executor: v.nullable(NodeIdSchema),
  epoch: v.pipe(v.number(), v.integer(), v.minValue(0)),
  status: v.picklist(['done', 'failed', 'cancelled']),
  chars: Count,
  createdAt: Time,
  finishedAt: Time,
})
export type LogEntry = v.InferOutput<typeof LogEntrySchema>

const NodeIds = v.pipe(v.array(NodeIdSchema), v.maxLength(16))
export const VoteSchema = v.object({
  jobId: TaskIdSchema,
  poster: NodeIdSchema,
  publicKey: PublicKey,
  winners: NodeIds,
  outvoted: NodeIds,
  at: Time,
  sig: Signature,
})
export type Vote = v.InferOutput<typeof VoteSchema>

export function isTerminal(status: TaskStatus | null): boolean {
  return status === 'done' || status === 'failed' || status === 'cancelled'
}

/** The value if it fits the schema and the size limit, else null. Never throws. */
export function readValue<S extends v.GenericSchema>(schema: S, value: unknown, maxBytes: number): v.InferOutput<S> | null {
  if (value === undefined) return null
  try {
    if (jsonByteLength(value) > maxBytes) return null
  } catch {
    return null
  }
  const parsed = v.safeParse(schema, value)
  return parsed.success ? parsed.output : null
}
