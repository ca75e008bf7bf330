// Embeddings through the swarm: the texts go to the room's market as embedding tasks
// (src/market/embed-task.ts), cut so each spec and result fits, for one embedding model that a
// peer advertises: the client's (a peer's model id) or the one most of the room's peers have.
// Every result is checked by the market before it is accepted (the model, one vector per text,
// the advertised width, finite numbers); a peer that breaks that loses the award to another.
import { decodeEmbedResult, embedBatches, embedTaskRequest, servesPeers, type EmbedderPresence, type LivePeer, type TaskHandle } from '../../market'
import { AbortError, ValidationError } from '../../shared/errors'
import type { EmbeddingBackendRequest, Embeddings } from '../v1/backend'
import { ApiError, badRequest, UpstreamError } from '../v1/errors'
import type { RoomPeer } from './room-peer'
import { taskFailed } from './translate'

/** What embedding needs of a joined room. */
export type EmbeddingRoom = Pick<RoomPeer, 'name' | 'market' | 'livePeers' | 'waitForReadyPeer'>

/** Whether `peer` runs embedding tasks for `modelId` (any model when null). */
export const embedsWith =
  (modelId: string | null) =>
  (peer: LivePeer): boolean =>
    peer.embedder != null && (modelId === null || peer.embedder.modelId === modelId) && servesPeers(peer)

/** The embedding models the room's serving peers advertise, the most common first. */
export function embeddersOf(room: Pick<EmbeddingRoom, 'livePeers'>): EmbedderPresence[] {
  const counts = new Map<string, { embedder: EmbedderPresence; peers: number }>()
  for (const peer of room.livePeers()) {
    if (!embedsWith(null)(peer) || peer.embedder == null) continue
    const key = `${peer.embedder.modelId} ${peer.embedder.dimensions}`
    const known = counts.get(key)
    counts.set(key, { embedder: peer.embedder, peers: (known?.peers ?? 0) + 1 })
  }
  return [...counts.values()].sort((a, b) => b.peers - a.peers).map((entry) => entry.embedder)
}

/** Tokens a text may bring besides its bytes: what a peer's reported count is held to. */
const slackTokensPerText = 4

/**
 * Embeds `request.input` in `room` with `modelId` (a peer's embedding model; null: the room's
 * most common), waiting up to `waitMs` for a peer that has one.
 */
export async function embedInRoom(room: EmbeddingRoom, request: EmbeddingBackendRequest, modelId: string | null, waitMs: number, signal: AbortSignal): Promise<Embeddings> {
  if (!(await room.waitForReadyPeer(waitMs, signal, embedsWith(modelId)))) {
    const which = modelId === null ? 'an embedding model' : `the embedding model ${modelId}`
    throw new ApiError(
      503,
      `no node with ${which} is in room ${room.name} after ${waitMs} ms: open the app at /?room=${room.name} with memory search on, or try again once a node has loaded one`,
      'server_error',
      'swarm_no_embedder',
      null,
      { 'Retry-After': '5' },
    )
  }
  const embedder = embeddersOf(room).find((candidate) => modelId === null || candidate.modelId === modelId)
  if (embedder === undefined) throw new AbortError('the room’s embedders left while the request was posted')
  const handles: TaskHandle[] = []
  const onAbort = (): void => handles.forEach((handle) => handle.cancel())
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    const batches = embedBatches(request.input, embedder.dimensions)
    for (const texts of batches) {
      const expected = { modelId: embedder.modelId, count: texts.length, dimensions: embedder.dimensions }
      const check = (text: string): string | null => {
        const decoded = decodeEmbedResult(text, expected)
        return 'problem' in decoded ? decoded.problem : null
      }
      handles.push(room.market.submit(embedTaskRequest(texts), { kind: 'embed', model: embedder.modelId }, { check }))
    }
    const aborted = new Promise<never>((_resolve, reject) => {
      if (signal.aborted) reject(new AbortError('the client went away'))
      else signal.addEventListener('abort', () => reject(new AbortError('the client went away')), { once: true })
    })
    aborted.catch(() => undefined)
    const results = await Promise.race([Promise.all(handles.map((handle) => handle.result)), aborted]).catch((error: unknown) => {
      throw error instanceof AbortError || !(error instanceof Error) ? error : taskFailed(error)
    })
    const vectors: number[][] = []
    let promptTokens = 0
    for (const [index, result] of results.entries()) {
      const texts = batches[index] ?? []
      const decoded = decodeEmbedResult(result.text, { modelId: embedder.modelId, count: texts.length, dimensions: embedder.dimensions })
      // The market accepted only results that passed the same check: this is the type's sake.
      if ('problem' in decoded) throw new UpstreamError('a peer’s embeddings are broken', 'swarm_embeddings_broken', 502, decoded.problem)
      vectors.push(...decoded.vectors)
      const bound = texts.reduce((sum, text) => sum + new TextEncoder().encode(text).byteLength + slackTokensPerText, 0)
      promptTokens += Math.min(Math.max(0, Math.floor(result.usage?.prompt_tokens ?? 0)), bound)
    }
    return { model: embedder.modelId, vectors, promptTokens }
  } catch (error) {
    if (error instanceof ValidationError) throw badRequest(`the swarm cannot take this request: ${error.message}`, 'input')
    throw error
  } finally {
    signal.removeEventListener('abort', onAbort)
    // Ended early (the client left, a task failed): the rest are called off.
    for (const handle of handles) handle.cancel()
  }
}
