import { canServe, needs } from '../inference/supports'
import { noSupports, type ChatRequest } from '../inference/types'
import type { Spec } from './schema'
import type { LivePeer, SpeedQuery } from './types'

const charsPerToken = 4
const defaultMaxTokens = 256
/** Guesses for an engine that has not measured itself yet. */
const fallbackPrefillTokensPerS = 100
const fallbackDecodeTokensPerS = 5
/** Browsers throttle hidden tabs; assume they run this many times slower. */
export const hiddenTabPenalty = 3

export function promptTokens(request: ChatRequest): number {
  let chars = 0
  for (const message of request.messages) chars += message.content.length
  return Math.ceil(chars / charsPerToken)
}

/**
 * Estimated time until `peer` returns the whole answer, or null when it will not bid: no ready
 * engine, or its queue is at `maxQueue`. Queued tasks are assumed to be as long as this one.
 */
export function estimateCompletionMs(peer: LivePeer, request: ChatRequest, maxQueue: number): number | null {
  const engine = peer.engine
  if (!engine || (engine.state !== 'ready' && engine.state !== 'busy')) return null
  if (peer.queueLength >= maxQueue) return null
  const prefill = engine.prefillTokensPerS > 0 ? engine.prefillTokensPerS : fallbackPrefillTokensPerS
  const decode = engine.decodeTokensPerS > 0 ? engine.decodeTokensPerS : fallbackDecodeTokensPerS
  const oneMs = (promptTokens(request) / prefill + (request.max_tokens ?? defaultMaxTokens) / decode) * 1000
  const penalty = peer.visible ? 1 : hiddenTabPenalty
  return Math.round(oneMs * (peer.queueLength + 1) * penalty + 2 * peer.linkDelayMs)
}

/** Tokens a node embeds per second when it has not measured its chat engine either (a small bert on WASM). */
const fallbackEmbedTokensPerS = 500

/**
 * Estimated time until `peer` returns the whole answer of `spec`: an embedding task's texts go
 * at its engine's prefill speed (an embedder is an encoder of about that speed), a chat as above.
 */
export function estimateTaskMs(peer: LivePeer, spec: Spec, maxQueue: number): number | null {
  if (spec.requirements.kind !== 'embed') return estimateCompletionMs(peer, spec.request, maxQueue)
  if (peer.queueLength >= maxQueue) return null
  const prefill = peer.engine !== null && peer.engine.prefillTokensPerS > 0 ? peer.engine.prefillTokensPerS : fallbackEmbedTokensPerS
  const penalty = peer.visible ? 1 : hiddenTabPenalty
  return Math.round((promptTokens(spec.request) / prefill) * 1000 * (peer.queueLength + 1) * penalty + 2 * peer.linkDelayMs)
}

/** What a speed model reads of `request` on `peer`, or null for a peer with no engine. */
export function speedQueryOf(peer: LivePeer, request: ChatRequest): SpeedQuery | null {
  const engine = peer.engine
  if (!engine) return null
  return {
    promptTokens: promptTokens(request),
    maxTokens: request.max_tokens ?? defaultMaxTokens,
    prefillTokensPerS: engine.prefillTokensPerS,
    decodeTokensPerS: engine.decodeTokensPerS,
    queueLength: peer.queueLength,
    visible: peer.visible,
    engineKind: engine.kind,
  }
}

/**
 * What `capableOf` reads of a task: two tasks with the same key are open to the same peers (their
 * kind, model and engine kinds, and whether the request needs tools or JSON schemas).
 */
export function capabilityKeyOf(spec: Spec): string {
  const { kind, model, engineKinds } = spec.requirements
  if (kind === 'embed') return JSON.stringify(['embed', model ?? null])
  const needed = needs(spec.request)
  return JSON.stringify(['chat', model ?? null, engineKinds ?? null, needed.tools, needed.jsonSchema])
}

/** Whether a peer (as presence shows it) meets a task's requirements: its engine, tools and JSON schemas included; for an embedding task its embedder. */
export function capableOf(peer: Pick<LivePeer, 'engine' | 'embedder'>, spec: Spec): boolean {
  if (spec.requirements.kind === 'embed') return peer.embedder != null && peer.embedder.modelId === spec.requirements.model
  const engine = peer.engine
  if (!engine || (engine.state !== 'ready' && engine.state !== 'busy')) return false
  if (engine.kind !== 'webgpu' && engine.kind !== 'wasm') return false
  if (!canServe(spec.request, engine.supports ?? noSupports)) return false
  const { engineKinds, model } = spec.requirements
  if (engineKinds && !engineKinds.includes(engine.kind)) return false
  return model === undefined || model === engine.modelId
}

/**
 * The fastest a small model plausibly runs anywhere (a 1.7B model on a data-centre GPU, with
 * room to spare): no honest bid can promise to be faster, so a bid under this floor is a lie.
 */
export const fastestPrefillTokensPerS = 50_000
export const fastestDecodeTokensPerS = 1_000

/** The least time any peer could take for `request`: what a bid may not undercut. */
export function bidFloorMs(request: ChatRequest): number {
  const maxTokens = request.max_tokens ?? defaultMaxTokens
  return Math.ceil((promptTokens(request) / fastestPrefillTokensPerS + maxTokens / fastestDecodeTokensPerS) * 1000)
}

/** A task's deadline when its poster set none: room for a slow peer's answer, a few minutes at most. */
export function defaultDeadlineMs(request: ChatRequest): number {
  const maxTokens = request.max_tokens ?? defaultMaxTokens
  return Math.min(maxDefaultDeadlineMs, 60_000 + maxTokens * 250)
}
export const maxDefaultDeadlineMs = 5 * 60_000
