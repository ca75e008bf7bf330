/*
 * The task market's part of the shared doc (a public contract; see DESIGN.md "The task market").
 * Every peer of a room may be hostile: each field has one writer, every value that decides
 * something is signed by that writer, and readers drop what the wrong writer wrote (counted).
 *
 * doc.getMap('tasks'): taskId → Y.Map, one per task, created by its poster:
 *   spec     poster:   { v: 3, taskId, request (OpenAI chat request), requirements
 *                      { contextSize?, engineKinds?, model?, deadlineMs?, redundancy?, kind? }, poster,
 *                      publicKey, createdAt, expiresAt, sig }; expiresAt = createdAt + min(
 *                      maxLifetimeMs, deadline + retainMs): the poster ends the task by then
 *                      (its deadline is at most expiresAt − retainMs) and removes it
 *   bids     Y.Map bidderNodeId → bidder: { taskId, bidder, estimateMs, at, publicKey, sig };
 *            an estimate under the physical floor (estimate.ts) is refused and its bidder suspected
 *   award    poster:   { taskId, epoch, executor, executorKey, at, sig } (epoch starts at 1); run
 *            only by an executor that bid on the task and has room in its queue
 *   lease    executor of the award's epoch: { taskId, epoch, executor, until, sig }, renewed every
 *            renewMs (award.ts renewEveryMs); a fresh output batch counts as a renewal (liveWindowMs)
 *   output   Y.Array of batches by the executor of `epoch`: { epoch, seq, text, sig }
 *   result   executor of the epoch: { taskId, poster, epoch, executor, publicKey, text, finish,
 *            usage?, sig }; the signature covers SHA-256 of the text, so a vote can carry it as
 *            evidence without the text
 *   failure  executor of the epoch: { taskId, epoch, executor, reason, sig }: its engine failed
 *   lapse    poster:   { taskId, epoch, reason, at, sig }: the award of `epoch` is over (its lease
 *            lapsed, it missed its delivery time, it failed): its executor stops, bids are welcome
 *   close    poster:   { taskId, status: 'done' | 'failed' | 'cancelled', reason, at, sig }; the
 *            only end of a task an executor obeys (an unsigned status means nothing)
 * Embedding tasks (embed-task.ts): requirements.kind 'embed' and requirements.model the embedding
 * model (an embedder's modelId as its presence advertises it); the request's messages are the
 * texts, one user message each. Only a node whose embedder is that model bids; its result's text
 * is JSON { model, dimensions, vectors: [base64 of little-endian float32] }, one per text. The
 * poster accepts it only with that model, the advertised width, one vector per text and every
 * number finite; otherwise the award lapses ('result refused'), as when an executor fails.
 * Nodes before protocol 6 drop these specs (their schema strips `kind`, so the signature fails).
 * Signatures are Ed25519 over JSON [`edgeswarm/market/<kind>/v2`, roomId, ...fields] (signing.ts):
 * the room id binds every record to its room. A write whose epoch is not the current award's
 * epoch is ignored (fencing). A poster puts back what someone else overwrote or deleted (spec,
 * award, close, the task itself: re-posted, or failed with TaskDeletedError after a few times).
 * Expiry (expiry.ts): any node may delete a task (its Y.Map) once, by its own clock, the expiry
 * it honours plus expirySkewMs has passed: the spec's expiresAt under the poster's signature,
 * capped at createdAt + maxLifetimeMs and at (when it first saw the task) + maxLifetimeMs; a
 * task with no valid spec has only the cap. An expiry without the poster's signature is not
 * honoured. So a poster that never returns leaves nothing for ever, and no honest node deletes
 * a task its poster still runs (a deletion before then is put back, as above).
 * doc.getArray('log'): finished tasks in brief ({ taskId, poster, executor, epoch, status,
 *   chars, createdAt, finishedAt }), capped; the task itself is removed after a while. Display only.
 * doc.getArray('ballots'): signed votes of redundant jobs, in the order the doc holds them
 *   { jobId, poster, publicKey, winners, outvoted, evidence, at, sig }. A vote counts only when
 *   signed by the job's poster and every named executor's signed result of that poster's task
 *   is in its evidence; one vote per (poster, executor) pair counts, the latest; the newest
 *   `maxVotes` are kept by position, never by the voter's own timestamps.
 * doc.getMap('ledger'): the contribution ledger (ledger.ts), tokens served and consumed per node.
 *   `<poster>/<taskId>` poster: a receipt { poster, publicKey, n, tokens, evidence, at, sig } for a
 *            result of its task that it accepted, run by another node: `evidence` is the executor's
 *            signed result without its text (as in votes; its signature binds task, poster, epoch,
 *            executor, text hash and usage), `n` the poster's receipt counter (1, 2, …), `tokens`
 *            ≤ the executor's signed usage.total_tokens and ≤ what the request and answer can hold
 *            (plausibleTokens: the poster's cap on an executor inflating its usage)
 *   `<poster>/carry`     poster: { poster, publicKey, through, pairs: [{ executor, tasks, tokens }],
 *            at, sig }: its receipts up to n = `through`, folded into totals per executor
 * A reader counts a receipt only when the key's first part is its poster, the key's second part
 * its evidence's task, the poster's key signed it (for this room), the evidence verifies as the
 * executor's signed result of that poster's task, the executor is not the poster, its tokens are
 * at most the signed usage, and its n is past the poster's carry; at most the newest
 * `maxReceiptsPerPoster` such receipts of a poster count. A carry counts under its poster's key,
 * signed by it; of a poster's carries, the one with the highest `through` a reader has seen
 * (an older one put back is a replay). Executor E's served = Σ tokens of receipts and carry pairs
 * naming E; poster P's consumed = Σ tokens of P's own receipts and carry. So nobody raises its own
 * served count (only posters write receipts, each citing a result the executor signed, capped by
 * that signature) or another's consumed count (only P writes under P's key), and each task counts
 * once (one key per poster and task, a folded receipt is past). Bounded: a poster keeps at most
 * `maxReceiptsPerPoster` receipts and folds older ones into its carry (≤ `maxCarryPairs`
 * executors, the smallest let go), so a poster's part of the doc stays under ~40 KB whatever it
 * posts; a poster puts back its entries when another node overwrites or deletes them.
 * Readers validate every value against these schemas and size limits; a bad one is dropped.
 */
import * as v from 'valibot'
import { jsonByteLength } from '../shared/encoding'
import { ChatRequestSchema } from '../inference/types'

export const maxSpecBytes = 256 * 1024
export const maxSmallBytes = 2 * 1024
export const maxBatchBytes = 16 * 1024
export const maxResultBytes = 256 * 1024
export const maxOutputBatches = 4_096
export const maxBids = 256
export const maxEvidence = 16

export const NodeIdSchema = v.pipe(v.string(), v.regex(/^[0-9a-f]{20}$/))
const PublicKey = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/))
const Signature = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{86}$/))
const Digest = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))
export const TaskIdSchema = v.pipe(v.string(), v.regex(/^[a-z0-9-]{8,64}$/))
const Time = v.pipe(v.number(), v.integer(), v.minValue(0))
const Epoch = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))
const Reason = v.pipe(v.string(), v.maxLength(500))

export const RequirementsSchema = v.object({
  contextSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  engineKinds: v.optional(v.pipe(v.array(v.picklist(['webgpu', 'wasm'])), v.maxLength(2))),
  model: v.optional(v.pipe(v.string(), v.maxLength(128))),
  deadlineMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  redundancy: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16))),
  /** 'embed': the texts of the request are embedded by `model`, an embedder's (embed-task.ts); absent: a chat. */
  kind: v.optional(v.literal('embed')),
})
export type Requirements = v.InferOutput<typeof RequirementsSchema>

export const SpecSchema = v.object({
  v: v.literal(3),
  taskId: TaskIdSchema,
  request: ChatRequestSchema,
  requirements: RequirementsSchema,
  poster: NodeIdSchema,
  publicKey: PublicKey,
  createdAt: Time,
  expiresAt: Time,
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

export const AwardSchema = v.object({ taskId: TaskIdSchema, epoch: Epoch, executor: NodeIdSchema, executorKey: PublicKey, at: Time, sig: Signature })
export type Award = v.InferOutput<typeof AwardSchema>

export const LeaseSchema = v.object({ taskId: TaskIdSchema, epoch: Epoch, executor: NodeIdSchema, until: Time, sig: Signature })
export type Lease = v.InferOutput<typeof LeaseSchema>

export const BatchSchema = v.object({
  epoch: Epoch,
  seq: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(maxOutputBatches)),
  text: v.pipe(v.string(), v.maxLength(8_000)),
  sig: Signature,
})
export type Batch = v.InferOutput<typeof BatchSchema>

const Count = v.pipe(v.number(), v.integer(), v.minValue(0))
export const UsageSchema = v.object({ prompt_tokens: Count, completion_tokens: Count, total_tokens: Count })
export const FinishSchema = v.picklist(['stop', 'length', 'abort'])

export const ResultSchema = v.object({
  taskId: TaskIdSchema,
  poster: NodeIdSchema,
  epoch: Epoch,
  executor: NodeIdSchema,
  publicKey: PublicKey,
  text: v.pipe(v.string(), v.maxLength(200_000)),
  finish: FinishSchema,
  usage: v.optional(UsageSchema),
  sig: Signature,
})
export type Result = v.InferOutput<typeof ResultSchema>

export const FailureSchema = v.object({ taskId: TaskIdSchema, epoch: Epoch, executor: NodeIdSchema, reason: Reason, sig: Signature })
export type Failure = v.InferOutput<typeof FailureSchema>

export const LapseSchema = v.object({ taskId: TaskIdSchema, epoch: Epoch, reason: Reason, at: Time, sig: Signature })
export type Lapse = v.InferOutput<typeof LapseSchema>

export const ClosedStatusSchema = v.picklist(['done', 'failed', 'cancelled'])
export const CloseSchema = v.object({ taskId: TaskIdSchema, status: ClosedStatusSchema, reason: Reason, at: Time, sig: Signature })
export type Close = v.InferOutput<typeof CloseSchema>

/** A task as a reader derives it from the signed records; no unsigned field says it. */
export type TaskStatus = 'open' | 'awarded' | 'running' | 'done' | 'failed' | 'cancelled'

export const LogEntrySchema = v.object({
  taskId: TaskIdSchema,
  poster: NodeIdSchema,
  executor: v.nullable(NodeIdSchema),
  epoch: v.pipe(v.number(), v.integer(), v.minValue(0)),
  status: ClosedStatusSchema,
  chars: Count,
  createdAt: Time,
  finishedAt: Time,
})
export type LogEntry = v.InferOutput<typeof LogEntrySchema>

/** One answer of a redundant job as its executor signed it, without the text (see ResultSchema). */
export const EvidenceSchema = v.object({
  taskId: TaskIdSchema,
  epoch: Epoch,
  executor: NodeIdSchema,
  publicKey: PublicKey,
  textHash: Digest,
  finish: FinishSchema,
  usage: v.optional(UsageSchema),
  sig: Signature,
})
export type Evidence = v.InferOutput<typeof EvidenceSchema>

const NodeIds = v.pipe(v.array(NodeIdSchema), v.maxLength(maxEvidence))
export const VoteSchema = v.object({
  jobId: TaskIdSchema,
  poster: NodeIdSchema,
  publicKey: PublicKey,
  winners: NodeIds,
  outvoted: NodeIds,
  evidence: v.pipe(v.array(EvidenceSchema), v.maxLength(maxEvidence)),
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

export const maxReceiptsPerPoster = 32
export const maxCarryPairs = 256

/** A poster's word that an executor's signed result of its task was accepted (see the header: `ledger`). */
export const ReceiptSchema = v.object({
  poster: NodeIdSchema,
  publicKey: PublicKey,
  /** The poster's receipt counter, from 1: a carry folds receipts up to some `n`. */
  n: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER)),
  /** Tokens counted: at most the executor's signed usage, at most what the request and answer could hold. */
  tokens: Count,
  evidence: EvidenceSchema,
  at: Time,
  sig: Signature,
})
export type Receipt = v.InferOutput<typeof ReceiptSchema>

export const CarryPairSchema = v.object({ executor: NodeIdSchema, tasks: Count, tokens: Count })
export type CarryPair = v.InferOutput<typeof CarryPairSchema>

/** A poster's receipts folded into totals per executor, once more than `maxReceiptsPerPoster` were kept. */
export const CarrySchema = v.object({
  poster: NodeIdSchema,
  publicKey: PublicKey,
  /** The highest receipt counter folded in: receipts up to it no longer count on their own. */
  through: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER)),
  pairs: v.pipe(v.array(CarryPairSchema), v.maxLength(maxCarryPairs)),
  at: Time,
  sig: Signature,
})
export type Carry = v.InferOutput<typeof CarrySchema>
