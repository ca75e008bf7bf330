/*
 * The room's shared memory (a public contract: any stock y-webrtc client with the room name, the
 * key as password and our `/signal` reads and writes it). Every peer may be hostile: an entry
 * has one writer, its author, and readers drop what anyone else wrote (counted).
 *
 * doc.getMap('memory'): id → the newest version of one entry, where id = `${author}/${random}`
 * (the author's node id, a slash, 8–32 of [a-z0-9]): the key names the only node that may write
 * it. A version is either
 *   an entry      { v: 2, room, text, tags, author, publicKey, createdAt, updatedAt, sig }
 *   a tombstone   { v: 2, room, deleted: true, author, publicKey, updatedAt, sig }: the author
 *                 deleted the entry at updatedAt
 *   room        the room id (src/shared/room-id.ts: a digest of room name and key, 32 hex)
 *   author      the node id: SHA-256 of the raw Ed25519 public key, first 10 bytes, hex; it must
 *               be the key's prefix
 *   createdAt, updatedAt  epoch ms; createdAt ≤ updatedAt ≤ the reader's clock + maxClockSkewMs
 *   sig         Ed25519 by the author's key over UTF-8 JSON
 *               ['edgeswarm/memory/v2', room, id, text, tags, author, publicKey, createdAt, updatedAt]
 *               ['edgeswarm/memory-tombstone/v2', room, id, author, publicKey, updatedAt] (tombstones)
 * Readers verify every version: the room id binds it to this room (a copy from another room
 * fails), and each reader keeps a high-water mark per id (marks.ts): a version older than the
 * newest it has verified is a replay and is refused. A write that removes or replaces a verified
 * version without being a newer one signed by its author (an unsigned deletion, a forgery, a
 * replay, another node's tombstone) is undone: readers put back the last verified version they
 * hold. Values that nobody verifiable wrote (junk) are listed flagged, never trusted, and anyone
 * may delete them. Readers consider at most `maxMemoryEntries` keys, the first in key order.
 */
import * as v from 'valibot'
import { jsonByteLength, utf8 } from '../shared/encoding'
import { randomId } from '../shared/ids'
import { signingText, verifySigned, type Signer } from '../shared/sign'

export const maxTextLength = 8_000
export const maxTags = 16
export const maxTagLength = 32
export const maxEntryBytes = 16 * 1024
/** A version dated further ahead of the reader's clock than this is refused. */
export const maxClockSkewMs = 5 * 60_000
/** Keys of the memory map a reader considers: the first ones in key order, tombstones included. */
export const maxMemoryEntries = 5_000
const entryTag = 'edgeswarm/memory/v2'
const tombstoneTag = 'edgeswarm/memory-tombstone/v2'

const Tag = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(maxTagLength))
const NodeId = v.pipe(v.string(), v.regex(/^[0-9a-f]{20}$/))
const PublicKey = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/))
const Signature = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{86}$/))
const RoomId = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/))
const Time = v.pipe(v.number(), v.integer(), v.minValue(0))
const idPattern = /^([0-9a-f]{20})\/[a-z0-9]{8,32}$/

/** A memory entry as stored in the shared doc's `memory` map (a public contract). */
export const MemoryEntrySchema = v.object({
  v: v.literal(2),
  room: RoomId,
  text: v.pipe(v.string(), v.maxLength(maxTextLength)),
  tags: v.pipe(v.array(Tag), v.maxLength(maxTags)),
  author: NodeId,
  publicKey: PublicKey,
  createdAt: Time,
  updatedAt: Time,
  sig: Signature,
})
export type MemoryEntry = v.InferOutput<typeof MemoryEntrySchema>

/** The author's deletion of an entry (a public contract). */
export const TombstoneSchema = v.object({
  v: v.literal(2),
  room: RoomId,
  deleted: v.literal(true),
  author: NodeId,
  publicKey: PublicKey,
  updatedAt: Time,
  sig: Signature,
})
export type Tombstone = v.InferOutput<typeof TombstoneSchema>

export type MemoryVersion = MemoryEntry | Tombstone

export type Trust = 'trusted' | 'bad-signature' | 'malformed'

/** Why a reader refused a version (each counted). */
export type Refusal = 'malformed' | 'bad-signature' | 'other-room' | 'wrong-author' | 'future' | 'replay' | 'over-cap'

export interface EntryDraft {
  text: string
  tags?: readonly string[]
}

export const EntryDraftSchema = v.object({
  text: v.pipe(v.string(), v.trim(), v.minLength(1, 'text is empty'), v.maxLength(maxTextLength, `text is over ${maxTextLength} characters`)),
  tags: v.optional(v.pipe(v.array(Tag), v.maxLength(maxTags, `more than ${maxTags} tags`)), []),
})

/** A new entry id of `author`'s. */
export function newEntryId(author: string): string {
  return `${author}/${randomId()}`
}

/** The node an id belongs to (the only one that may write it), or null for an id of no one. */
export function authorOfId(id: string): string | null {
  return idPattern.exec(id)?.[1] ?? null
}

export function isTombstone(version: MemoryVersion): version is Tombstone {
  return 'deleted' in version
}

function entryPayloadText(id: string, entry: Omit<MemoryEntry, 'sig' | 'v'>): string {
  return signingText(entryTag, [entry.room, id, entry.text, entry.tags, entry.author, entry.publicKey, entry.createdAt, entry.updatedAt])
}

function tombstonePayloadText(id: string, tombstone: Omit<Tombstone, 'sig' | 'v' | 'deleted'>): string {
  return signingText(tombstoneTag, [tombstone.room, id, tombstone.author, tombstone.publicKey, tombstone.updatedAt])
}

const entryPayload = (id: string, entry: Omit<MemoryEntry, 'sig' | 'v'>): Uint8Array<ArrayBuffer> => utf8(entryPayloadText(id, entry))
const tombstonePayload = (id: string, tombstone: Omit<Tombstone, 'sig' | 'v' | 'deleted'>): Uint8Array<ArrayBuffer> => utf8(tombstonePayloadText(id, tombstone))

/**
 * Signs version `updatedAt` of entry `id`. `createdAt` is the creation time of the entry's last
 * verified version, never of a value nobody verified.
 */
export async function signEntry(id: string, room: string, draft: v.InferOutput<typeof EntryDraftSchema>, signer: Signer, updatedAt: number, createdAt: number = updatedAt): Promise<MemoryEntry> {
  const unsigned = { room, text: draft.text, tags: [...new Set(draft.tags)], author: signer.nodeId, publicKey: signer.publicKey, createdAt: Math.min(createdAt, updatedAt), updatedAt }
  return { v: 2, ...unsigned, sig: await signer.sign(entryPayload(id, unsigned)) }
}

export async function signTombstone(id: string, room: string, signer: Signer, updatedAt: number): Promise<Tombstone> {
  const unsigned = { room, author: signer.nodeId, publicKey: signer.publicKey, updatedAt }
  return { v: 2, deleted: true, ...unsigned, sig: await signer.sign(tombstonePayload(id, unsigned)) }
}

export type Verdict = { ok: true; version: MemoryVersion } | { ok: false; refusal: Refusal; entry?: MemoryEntry }

/** A version that passed every cheap check: what its signature must cover, and how to refuse it. */
export interface SignedPayload {
  version: MemoryVersion
  /** The signed bytes, and the same as text (what a verified signature is kept with). */
  payload: { text: string; bytes: Uint8Array<ArrayBuffer> }
  refuse(refusal: Refusal): Verdict & { ok: false }
}

/**
 * Everything a reader checks of one version before its signature (and its age against the
 * marks): shape and size, room, that the key is the author's, the clock. The cheap checks refuse
 * a flood first. Never throws.
 */
export function checkVersion(id: string, value: unknown, room: string, nowMs: number): (Verdict & { ok: false }) | SignedPayload {
  let size: number
  try {
    size = jsonByteLength(value)
  } catch {
    return { ok: false, refusal: 'malformed' }
  }
  if (size > maxEntryBytes || typeof value !== 'object' || value === null) return { ok: false, refusal: 'malformed' }
  const tombstone = 'deleted' in value
  const parsed = tombstone ? v.safeParse(TombstoneSchema, value) : v.safeParse(MemoryEntrySchema, value)
  if (!parsed.success) return { ok: false, refusal: 'malformed' }
  const version = parsed.output
  const entry = isTombstone(version) ? undefined : version
  const refuse = (refusal: Refusal): Verdict & { ok: false } => (entry ? { ok: false, refusal, entry } : { ok: false, refusal })
  if (version.room !== room) return refuse('other-room')
  if (authorOfId(id) !== version.author) return refuse('wrong-author')
  if (entry && entry.createdAt > entry.updatedAt) return refuse('malformed')
  if (version.updatedAt > nowMs + maxClockSkewMs) return refuse('future')
  const text = isTombstone(version) ? tombstonePayloadText(id, version) : entryPayloadText(id, version)
  return { version, payload: { text, bytes: utf8(text) }, refuse }
}

/**
 * Everything a reader checks of one version but its age against the marks: checkVersion, then
 * the signature. Never throws. (The store verifies in batches with a VersionVerifier.)
 */
export async function verifyVersion(id: string, value: unknown, room: string, nowMs: number): Promise<Verdict> {
  const checked = checkVersion(id, value, room, nowMs)
  if ('refusal' in checked) return checked
  const { version, payload } = checked
  if (!(await verifySigned(version.author, version.publicKey, version.sig, payload.bytes))) return checked.refuse('bad-signature')
  return { ok: true, version }
}

/** True when `a` is a newer version than `b` (later, or as late with the greater signature: every reader picks the same). */
export function isNewer(a: MemoryVersion, b: MemoryVersion): boolean {
  return a.updatedAt > b.updatedAt || (a.updatedAt === b.updatedAt && a.sig > b.sig)
}
