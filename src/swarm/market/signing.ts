import { utf8 } from '../../shared/encoding'
import { signingPayload, verifySigned, type Signer } from '../../shared/sign'
import type { Award, Bid, Cancel, Result, Spec, Vote } from './schema'

const tag = (what: string): string => `edgeswarm/market/${what}/v1`

type Unsigned<T> = Omit<T, 'sig'>

const fieldsOf = {
  spec: (s: Unsigned<Spec>) => [s.v, s.taskId, s.request, s.requirements, s.poster, s.publicKey, s.createdAt],
  bid: (b: Unsigned<Bid>) => [b.taskId, b.bidder, b.estimateMs, b.at, b.publicKey],
  award: (a: Unsigned<Award>) => [a.taskId, a.epoch, a.executor, a.at],
  result: (r: Unsigned<Result>) => [r.taskId, r.epoch, r.executor, r.publicKey, r.text, r.finish, r.usage ?? null],
  cancel: (c: Unsigned<Cancel>) => [c.taskId, c.at],
  vote: (x: Unsigned<Vote>) => [x.jobId, x.poster, x.publicKey, x.winners, x.outvoted, x.at],
}
type Kind = keyof typeof fieldsOf
type Entry<K extends Kind> = Parameters<(typeof fieldsOf)[K]>[0]

export async function sign<K extends Kind, T extends Entry<K>>(kind: K, unsigned: T, signer: Signer): Promise<T & { sig: string }> {
  const fields = (fieldsOf[kind] as (entry: T) => unknown[])(unsigned)
  return { ...unsigned, sig: await signer.sign(signingPayload(tag(kind), fields)) }
}

// Verification is a pure function of its inputs, so results are shared: a room's nodes in one
// process (tests, the simulation) and one node re-reading an entry check each signature once.
const verified = new Map<string, Promise<boolean>>()
const maxVerified = 8_192

/** True when `publicKey` signed the entry and hashes to `signerId`. Never throws. */
export function verify<K extends Kind>(kind: K, entry: Entry<K> & { sig: string }, publicKey: string, signerId: string): Promise<boolean> {
  const fields = (fieldsOf[kind] as (e: Entry<K>) => unknown[])(entry)
  // The signed text is the cache key too: a spec or result can be 200 KB, written out once.
  const signed = JSON.stringify([tag(kind), ...fields])
  const key = `${signerId} ${publicKey} ${entry.sig} ${signed}`
  let check = verified.get(key)
  if (!check) {
    if (verified.size >= maxVerified) verified.clear()
    check = verifySigned(signerId, publicKey, entry.sig, utf8(signed))
    verified.set(key, check)
  }
  return check
}
