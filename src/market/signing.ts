import { sha256, toHex, utf8 } from '../shared/encoding'
import { signingPayload, verifySigned, type Signer } from '../shared/sign'
import type { Award, Batch, Bid, Carry, Close, Evidence, Failure, Lapse, Lease, Receipt, Result, Spec, Vote } from './schema'

const tag = (what: string): string => `edgeswarm/market/${what}/v2`

type Unsigned<T> = Omit<T, 'sig'>

/** A result as its signature covers it: the text by its SHA-256, so a vote can carry it as evidence. */
export type ResultDigest = Unsigned<Evidence> & { poster: string }

const fieldsOf = {
  spec: (s: Unsigned<Spec>) => [s.v, s.taskId, s.request, s.requirements, s.poster, s.publicKey, s.createdAt, s.expiresAt],
  bid: (b: Unsigned<Bid>) => [b.taskId, b.bidder, b.estimateMs, b.at, b.publicKey],
  award: (a: Unsigned<Award>) => [a.taskId, a.epoch, a.executor, a.executorKey, a.at],
  lease: (l: Unsigned<Lease>) => [l.taskId, l.epoch, l.executor, l.until],
  batch: (b: Unsigned<Batch> & { taskId: string }) => [b.taskId, b.epoch, b.seq, b.text],
  result: (r: ResultDigest) => [r.taskId, r.poster, r.epoch, r.executor, r.publicKey, r.textHash, r.finish, r.usage ?? null],
  failure: (f: Unsigned<Failure>) => [f.taskId, f.epoch, f.executor, f.reason],
  lapse: (l: Unsigned<Lapse>) => [l.taskId, l.epoch, l.reason, l.at],
  close: (c: Unsigned<Close>) => [c.taskId, c.status, c.reason, c.at],
  vote: (x: Unsigned<Vote>) => [x.jobId, x.poster, x.publicKey, x.winners, x.outvoted, x.evidence, x.at],
  receipt: (r: Unsigned<Receipt>) => [r.poster, r.publicKey, r.n, r.tokens, r.evidence, r.at],
  carry: (c: Unsigned<Carry>) => [c.poster, c.publicKey, c.through, c.pairs, c.at],
}
type Kind = keyof typeof fieldsOf
type Entry<K extends Kind> = Parameters<(typeof fieldsOf)[K]>[0]

/** The signer of one room: every record it signs carries the room's id. */
export interface RoomSigner {
  signer: Signer
  roomId: string
  /** The node's own verdicts; the process-wide ones without. */
  verdicts?: Verdicts
}

function signedText<K extends Kind>(kind: K, entry: Entry<K>, roomId: string): string {
  const fields = (fieldsOf[kind] as (e: Entry<K>) => unknown[])(entry)
  return JSON.stringify([tag(kind), roomId, ...fields])
}

export async function sign<K extends Kind, T extends Entry<K>>(kind: K, unsigned: T, { signer, roomId }: RoomSigner): Promise<T & { sig: string }> {
  const fields = (fieldsOf[kind] as (entry: T) => unknown[])(unsigned)
  return { ...unsigned, sig: await signer.sign(signingPayload(tag(kind), [roomId, ...fields])) }
}

/**
 * Verdicts of one node: verification is a pure function of its inputs, so a node that reads an
 * entry again (another field of its task changed, a restart) checks its signature once. Each
 * MarketNode keeps its own, as a tab does: a simulation of many nodes in one process pays
 * every node's checks, as a real room would, instead of sharing one verdict among them all.
 */
export class Verdicts {
  readonly #verified = new Map<string, Promise<boolean>>()
  /** Signatures this node checked itself (cache misses). */
  checks = 0

  constructor(private readonly max = 8_192) {}

  /** True when `publicKey` signed the entry for room `roomId` and hashes to `signerId`. Never throws. */
  verify<K extends Kind>(kind: K, entry: Entry<K> & { sig: string }, publicKey: string, signerId: string, roomId: string): Promise<boolean> {
    // The signed text is the cache key too (a forged entry differs from the signed one in it): a spec can be 200 KB, written out once.
    const signed = signedText(kind, entry, roomId)
    const key = `${signerId} ${publicKey} ${entry.sig} ${signed}`
    let check = this.#verified.get(key)
    if (!check) {
      if (this.#verified.size >= this.max) this.#verified.clear()
      this.checks++
      checks++
      checksByKind.set(kind, (checksByKind.get(kind) ?? 0) + 1)
      check = verifySigned(signerId, publicKey, entry.sig, utf8(signed))
      this.#verified.set(key, check)
    }
    return check
  }
}

/** The verdicts of whatever has no node of its own (tests, the relay's checks). */
const shared = new Verdicts()
let checks = 0
const checksByKind = new Map<string, number>()

/** Signatures actually checked (cache misses) in this process, by every node in it: what a flood costs. */
export function signatureChecks(): number {
  return checks
}

/** signatureChecks() by the kind of record checked. */
export function signatureChecksByKind(): Map<string, number> {
  return new Map(checksByKind)
}

/** True when `publicKey` signed the entry for room `roomId` and hashes to `signerId`. Never throws. */
export function verify<K extends Kind>(kind: K, entry: Entry<K> & { sig: string }, publicKey: string, signerId: string, roomId: string, verdicts: Verdicts = shared): Promise<boolean> {
  return verdicts.verify(kind, entry, publicKey, signerId, roomId)
}

export async function textHashOf(text: string): Promise<string> {
  return toHex(await sha256(utf8(text)))
}

/** What a result's signature covers, and what a vote carries as evidence of it. */
export async function digestOf(result: Unsigned<Result>): Promise<ResultDigest> {
  const digest: ResultDigest = {
    taskId: result.taskId,
    poster: result.poster,
    epoch: result.epoch,
    executor: result.executor,
    publicKey: result.publicKey,
    textHash: await textHashOf(result.text),
    finish: result.finish,
  }
  if (result.usage) digest.usage = result.usage
  return digest
}

export async function signResult(unsigned: Unsigned<Result>, roomSigner: RoomSigner): Promise<Result> {
  const { sig } = await sign('result', await digestOf(unsigned), roomSigner)
  return { ...unsigned, sig }
}

/** True when the result's executor signed it (its text by hash) in this room. Never throws. */
export async function verifyResult(result: Result, roomId: string, verdicts: Verdicts = shared): Promise<boolean> {
  try {
    return await verify('result', { ...(await digestOf(result)), sig: result.sig }, result.publicKey, result.executor, roomId, verdicts)
  } catch {
    return false
  }
}

/** A result as a vote's evidence: everything its signature covers but the text. */
export async function evidenceOf(result: Result): Promise<Evidence> {
  const { poster: _poster, ...digest } = await digestOf(result)
  return { ...digest, sig: result.sig }
}

/** True when `evidence` is its executor's signed result of a task posted by `poster`. */
export function verifyEvidence(evidence: Evidence, poster: string, roomId: string, verdicts: Verdicts = shared): Promise<boolean> {
  return verify('result', { ...evidence, poster }, evidence.publicKey, evidence.executor, roomId, verdicts)
}
