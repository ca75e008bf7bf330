// How the hostile test peer signs its own records: the market's signed layouts as a member who
// read our source knows them, written out here (not imported) so that the hostile keeps working
// while src/market/signing.ts changes. Two layouts: v1 (`[tag/v1, ...fields]`, the old
// market) and v2 (`[tag/v2, roomId, ...fields]`, the contract of issue 10). Which one a room
// speaks is read off the poster's own spec signature.
import { sha256, toHex, utf8 } from '../../../src/shared/encoding'
import { signingPayload, verifySignature, type Signer } from '../../../src/shared/sign'

export type Layout = 'v1' | 'v2'

export type RecordKind = 'spec' | 'bid' | 'award' | 'lease' | 'batch' | 'result' | 'failure' | 'lapse' | 'close' | 'cancel'

type Fields = Record<string, unknown>

const at = (record: Fields, key: string): unknown => record[key] ?? null

/** The signed fields of each kind, per layout (v2 as in the issue 10 contract). */
async function fieldsOf(kind: RecordKind, layout: Layout, r: Fields): Promise<unknown[]> {
  const pick = (...keys: string[]): unknown[] => keys.map((key) => at(r, key))
  switch (kind) {
    case 'spec':
      // Spec v3 (issue 13) signs the poster's expiry too.
      return r.v === 3
        ? pick('v', 'taskId', 'request', 'requirements', 'poster', 'publicKey', 'createdAt', 'expiresAt')
        : pick('v', 'taskId', 'request', 'requirements', 'poster', 'publicKey', 'createdAt')
    case 'bid':
      return pick('taskId', 'bidder', 'estimateMs', 'at', 'publicKey')
    case 'award':
      return layout === 'v1' ? pick('taskId', 'epoch', 'executor', 'at') : pick('taskId', 'epoch', 'executor', 'executorKey', 'at')
    case 'lease':
      return pick('taskId', 'epoch', 'executor', 'until')
    case 'batch':
      return pick('taskId', 'epoch', 'seq', 'text')
    case 'result': {
      if (layout === 'v1') return pick('taskId', 'epoch', 'executor', 'publicKey', 'text', 'finish', 'usage')
      const textHash = toHex(await sha256(utf8(typeof r.text === 'string' ? r.text : '')))
      return [...pick('taskId', 'poster', 'epoch', 'executor', 'publicKey'), textHash, ...pick('finish', 'usage')]
    }
    case 'failure':
      return pick('taskId', 'epoch', 'executor', 'reason')
    case 'lapse':
      return pick('taskId', 'epoch', 'reason', 'at')
    case 'close':
      return pick('taskId', 'status', 'reason', 'at')
    case 'cancel':
      return pick('taskId', 'at')
  }
}

async function payloadOf(kind: RecordKind, layout: Layout, roomId: string, record: Fields): Promise<Uint8Array<ArrayBuffer>> {
  const fields = await fieldsOf(kind, layout, record)
  return layout === 'v1' ? signingPayload(`edgeswarm/market/${kind}/v1`, fields) : signingPayload(`edgeswarm/market/${kind}/v2`, [roomId, ...fields])
}

/** The layout whose payload the poster's signature of `spec` verifies under, or null. Never throws. */
export async function layoutOfSpec(spec: Fields, roomId: string): Promise<Layout | null> {
  const { publicKey, sig } = spec
  if (typeof publicKey !== 'string' || typeof sig !== 'string') return null
  for (const layout of ['v2', 'v1'] as const) {
    if (await verifySignature(publicKey, sig, await payloadOf('spec', layout, roomId, spec))) return layout
  }
  return null
}

/** Signs `record` as `kind` with the hostile's own key: well formed, valid for its own identity only. */
export async function signAs<T extends Fields>(signer: Signer, kind: RecordKind, layout: Layout, roomId: string, record: T): Promise<T & { sig: string }> {
  return { ...record, sig: await signer.sign(await payloadOf(kind, layout, roomId, record)) }
}

/** The least time a bid may promise under the issue 10 rule (src/market/estimate.ts `bidFloorMs`). */
export function bidFloorMs(request: unknown): number {
  const fields = typeof request === 'object' && request !== null ? (request as Fields) : {}
  const messages = Array.isArray(fields.messages) ? (fields.messages as unknown[]) : []
  let chars = 0
  for (const message of messages) {
    const content = typeof message === 'object' && message !== null ? (message as Fields).content : undefined
    if (typeof content === 'string') chars += content.length
  }
  const maxTokens = typeof fields.max_tokens === 'number' ? fields.max_tokens : 256
  return Math.ceil((Math.ceil(chars / 4) / 50_000 + maxTokens / 1_000) * 1000)
}
