import type { Presence, SignedPresence } from '../../shared/protocol'
import { signingPayload, verifySigned, type Signer } from '../../shared/sign'

const presenceTag = 'edgeswarm/presence/v2'

/**
 * The bytes a presence signature covers: the room, the awareness client the state is published
 * under (so a state cannot be replayed under another client id) and every field but `sig`, with
 * object keys sorted so that the encoding has one spelling whatever order a peer's JSON used.
 * A field the schema does not know never reaches here: the reader's parse strips it.
 */
export function presencePayload(roomId: string, clientId: number, fields: Presence & { at: number }): Uint8Array<ArrayBuffer> {
  return signingPayload(presenceTag, [roomId, clientId, sortedKeys(fields)])
}

export async function signPresence(signer: Signer, roomId: string, clientId: number, presence: Presence, at: number): Promise<SignedPresence> {
  const fields = { ...presence, at }
  return { ...fields, sig: await signer.sign(presencePayload(roomId, clientId, fields)) }
}

/** True only when the state's key hashes to its `nodeId` and signed it for this room and client. */
export function verifyPresence(roomId: string, clientId: number, state: SignedPresence): Promise<boolean> {
  const { sig, ...fields } = state
  return verifySigned(state.nodeId, state.publicKey, sig, presencePayload(roomId, clientId, fields))
}

/** A copy with object keys in sorted order and `undefined` members left out, as JSON drops them. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys)
  if (typeof value !== 'object' || value === null) return value
  const sorted: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key]
    if (member !== undefined) sorted[key] = sortedKeys(member)
  }
  return sorted
}
