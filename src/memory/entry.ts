import * as v from 'valibot'
import { jsonByteLength } from '../shared/encoding'
import { signingPayload, verifySigned, type Signer } from '../shared/sign'

export const maxTextLength = 8_000
export const maxTags = 16
export const maxTagLength = 32
export const maxEntryBytes = 16 * 1024
const signingTag = 'edgeswarm/memory/v1'

const Tag = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(maxTagLength))

/** A memory entry as stored in the shared doc's `memory` map (a public contract). */
export const MemoryEntrySchema = v.object({
  v: v.literal(1),
  text: v.pipe(v.string(), v.maxLength(maxTextLength)),
  tags: v.pipe(v.array(Tag), v.maxLength(maxTags)),
  author: v.pipe(v.string(), v.regex(/^[0-9a-f]{20}$/)),
  publicKey: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/)),
  createdAt: v.pipe(v.number(), v.integer(), v.minValue(0)),
  updatedAt: v.pipe(v.number(), v.integer(), v.minValue(0)),
  sig: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{86}$/)),
})
export type MemoryEntry = v.InferOutput<typeof MemoryEntrySchema>

export type Trust = 'trusted' | 'bad-signature' | 'malformed'

export interface EntryDraft {
  text: string
  tags?: readonly string[]
}

export const EntryDraftSchema = v.object({
  text: v.pipe(v.string(), v.trim(), v.minLength(1, 'text is empty'), v.maxLength(maxTextLength, `text is over ${maxTextLength} characters`)),
  tags: v.optional(v.pipe(v.array(Tag), v.maxLength(maxTags, `more than ${maxTags} tags`)), []),
})

function payloadOf(id: string, entry: Omit<MemoryEntry, 'sig'>): Uint8Array<ArrayBuffer> {
  return signingPayload(signingTag, [id, entry.text, entry.tags, entry.author, entry.publicKey, entry.createdAt, entry.updatedAt])
}

/** Signs a new entry, or a new version of `previous` (keeping its creation time). */
export async function signEntry(
  id: string,
  draft: v.InferOutput<typeof EntryDraftSchema>,
  signer: Signer,
  nowMs: number,
  previous?: MemoryEntry,
): Promise<MemoryEntry> {
  const unsigned = {
    v: 1 as const,
    text: draft.text,
    tags: [...new Set(draft.tags)],
    author: signer.nodeId,
    publicKey: signer.publicKey,
    createdAt: previous?.createdAt ?? nowMs,
    updatedAt: nowMs,
  }
  return { ...unsigned, sig: await signer.sign(payloadOf(id, unsigned)) }
}

/** Checks shape, size, that the key is the author's, and the signature. Never throws. */
export async function verifyEntry(id: string, value: unknown): Promise<{ trust: Trust; entry?: MemoryEntry }> {
  if (jsonByteLength(value) > maxEntryBytes) return { trust: 'malformed' }
  const parsed = v.safeParse(MemoryEntrySchema, value)
  if (!parsed.success) return { trust: 'malformed' }
  const entry = parsed.output
  const { sig, ...unsigned } = entry
  const signed = await verifySigned(entry.author, entry.publicKey, sig, payloadOf(id, unsigned))
  return { trust: signed ? 'trusted' : 'bad-signature', entry }
}
