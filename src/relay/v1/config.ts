// Configuration of /v1 and its backends, from the environment:
//
//   RELAY_TOKENS              comma-separated bearer tokens for /v1; required on a non-loopback HOST
//                             and with RELAY_TRUST_PROXY; with tokens, /healthz details need one
//   RELAY_RATE_PER_MIN        requests per minute per token (per address without tokens); 60
//   RELAY_DAILY_TOKENS        prompt + completion tokens per token per UTC day; 0: no cap; 1000000
//   RELAY_MAX_BODY_BYTES      request body cap (413 above); 1 MiB
//   RELAY_MAX_MESSAGES        messages per request (400 above); 256
//   RELAY_MAX_TOKENS          cap on max_tokens (400 above), and its default for chat (text completions: 16); 4096
//   RELAY_CORS_ORIGINS        comma-separated origins allowed to call /v1 from a browser; none
//   RELAY_UPSTREAM_URL        base URL of an OpenAI-compatible server (…/v1); none
//   RELAY_UPSTREAM_KEY        its bearer key; none
//   RELAY_UPSTREAM_URLS       several upstreams instead, in order of preference, comma-separated,
//                             each `URL` (serves what its GET /models lists) or `URL model|model`
//                             (serves those); or a JSON array `[{"url":…,"key":…,"models":[…]}]`
//   RELAY_UPSTREAM_KEYS       with the comma-separated form: their keys in the same order, one per
//                             upstream, empty for none (`k1,,k3`); none
//   RELAY_UPSTREAM_TIMEOUT_MS longest wait for an upstream's headers and between its chunks; 60000
//   RELAY_UPSTREAM_RETRIES    retries on connect errors (never after bytes were sent); with several
//                             upstreams, on the last one a request may go to (failover first); 2
//   RELAY_UPSTREAM_BREAKER_FAILURES    consecutive failures (unreachable, 5xx, timeout, a broken
//                             stream) that open an upstream's circuit breaker; 3
//   RELAY_UPSTREAM_BREAKER_COOLDOWN_MS how long an open breaker skips its upstream before one
//                             request probes it (half-open); doubles with each failed probe, up to
//                             8 times; 30000. Routing, failover and the breaker: ./upstreams.ts
//   RELAY_MODEL_PATH          a GGUF file for the embedded backend (node-llama-cpp); none
//   RELAY_MODEL               the embedded backend's model by name instead, downloaded on first
//                             start: hf:owner/repo:quant, hf:owner/repo/file.gguf (#revision pins
//                             it to a commit), or an http(s) URL of a .gguf; cached in
//                             RELAY_DATA_DIR/models, else $XDG_CACHE_HOME/edgeswarm-relay/models,
//                             else ~/.cache/edgeswarm-relay/models; a later start reads the cache
//                             and downloads nothing. Not with RELAY_MODEL_PATH. See ../models/
//   RELAY_HF_ENDPOINT         the Hugging Face server hf: references resolve on (a mirror);
//                             node-llama-cpp's HF_ENDPOINT or MODEL_ENDPOINT, else huggingface.co
//   RELAY_MODEL_CONCURRENCY   requests generated at once by it; more wait in a queue; 1
//   RELAY_MODEL_THREADS       CPU threads for it; the cores, at most 4
//   RELAY_MODEL_CONTEXT       context size in tokens per concurrent request; 4096
//   RELAY_MODEL_GPU           auto: use a GPU when llama.cpp finds one; off: CPU only; auto
//   RELAY_MODEL_QUEUE         requests waiting for it beyond which 503 answers; 64
//   RELAY_EMBEDDING_MODEL_PATH a GGUF embedding model (bert, e5, Qwen3-Embedding) the relay runs for
//                             /v1/embeddings, listed in /v1/models by its file name; none. It uses
//                             RELAY_MODEL_THREADS and RELAY_MODEL_GPU; see ./embedded-embedding.ts
//   RELAY_EMBEDDING_CONTEXT   tokens one text may have (at most the model's own window); 8192
//   RELAY_ROOMS               rooms the swarm gateway joins (`name` or `name#key`, comma-separated);
//                             with RELAY_KEY_FILE, RELAY_SWARM_SIGNALING_URL, RELAY_SWARM_WAIT_MS:
//                             see ../gateway/config.ts
import os from 'node:os'
import path from 'node:path'
import { RelayConfigError, type Env } from '../config'
import { loadSwarmConfig, type SwarmConfig } from '../gateway/config'
import { loadRemoteModel, type RemoteModel } from '../models/ref'
import { readInteger, readList } from './env-read'
import { loadUpstreamsConfig, type UpstreamsConfig } from './upstream-config'

/** The embedded backend's model: a local file (RELAY_MODEL_PATH), or one by name, downloaded (RELAY_MODEL). */
export type EmbeddedModel = { modelPath: string; remote?: undefined } | { modelPath?: undefined; remote: RemoteModel }

export type EmbeddedConfig = EmbeddedModel & { concurrency: number; threads: number; contextSize: number; maxQueue: number; gpu: boolean }

export interface V1Config {
  tokens: readonly string[]
  ratePerMin: number
  dailyTokens: number
  maxBodyBytes: number
  maxMessages: number
  maxTokens: number
  corsOrigins: readonly string[]
  /** The OpenAI-compatible servers /v1 forwards to; null: none. */
  upstreams: UpstreamsConfig | null
  embedded: EmbeddedConfig | null
  /** The relay's embedding model: null without RELAY_EMBEDDING_MODEL_PATH. */
  embedding: { modelPath: string; threads: number; contextSize: number; gpu: boolean } | null
  /** The swarm gateway: null without RELAY_ROOMS. */
  swarm: SwarmConfig | null
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase()
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare) || bare === '::ffff:127.0.0.1'
}

/** The refusal for an exposed relay without tokens; null when `host` may serve as configured. */
export function exposureProblem(host: string, tokens: readonly string[]): string | null {
  if (isLoopbackHost(host) || tokens.length > 0) return null
  return `HOST=${host} is not loopback: set RELAY_TOKENS (comma-separated bearer tokens) so /v1 is not open to the network, or bind HOST=127.0.0.1`
}

/**
 * The refusal for RELAY_TRUST_PROXY without tokens: behind a proxy every client comes from the
 * proxy's address, so without tokens nothing but a forgeable header would tell callers apart.
 */
export function trustProxyProblem(trustProxy: readonly string[], tokens: readonly string[]): string | null {
  if (trustProxy.length === 0 || tokens.length > 0) return null
  return 'RELAY_TRUST_PROXY is set but RELAY_TOKENS is not: a relay behind a proxy must require bearer tokens for /v1'
}

/**
 * Reads /v1's configuration. Throws a RelayConfigError listing every problem, including a
 * non-loopback `host` without RELAY_TOKENS.
 */
export function loadV1Config(env: Env, host = '127.0.0.1', cwd: string = process.cwd()): V1Config {
  const problems: string[] = []
  const tokens = readList(env, 'RELAY_TOKENS')
  const exposure = exposureProblem(host, tokens)
  if (exposure !== null) problems.push(exposure)
  const proxied = trustProxyProblem(readList(env, 'RELAY_TRUST_PROXY'), tokens)
  if (proxied !== null) problems.push(proxied)
  const ratePerMin = readInteger(env, 'RELAY_RATE_PER_MIN', { fallback: 60, min: 1, max: 1_000_000 }, problems)
  const dailyTokens = readInteger(env, 'RELAY_DAILY_TOKENS', { fallback: 1_000_000, min: 0, max: 1e12 }, problems)
  const maxBodyBytes = readInteger(env, 'RELAY_MAX_BODY_BYTES', { fallback: 1024 * 1024, min: 1024, max: 256 * 1024 * 1024 }, problems)
  const maxMessages = readInteger(env, 'RELAY_MAX_MESSAGES', { fallback: 256, min: 1, max: 100_000 }, problems)
  const maxTokens = readInteger(env, 'RELAY_MAX_TOKENS', { fallback: 4096, min: 1, max: 1_000_000 }, problems)
  const corsOrigins = readList(env, 'RELAY_CORS_ORIGINS')
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/]+$/.test(origin)) problems.push(`RELAY_CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://example.org`)
  }

  const upstreams = loadUpstreamsConfig(env, problems)

  const modelPath = env.RELAY_MODEL_PATH?.trim() ?? ''
  const remote = loadRemoteModel(env, cwd, problems)
  const model: EmbeddedModel | null = remote !== null ? { remote } : modelPath !== '' ? { modelPath: path.resolve(cwd, modelPath) } : null
  const gpu = env.RELAY_MODEL_GPU?.trim() || 'auto'
  if (gpu !== 'auto' && gpu !== 'off') problems.push(`RELAY_MODEL_GPU=${JSON.stringify(gpu)}: expected auto or off`)
  const embedded: EmbeddedConfig | null =
    model === null
      ? null
      : {
          ...model,
          concurrency: readInteger(env, 'RELAY_MODEL_CONCURRENCY', { fallback: 1, min: 1, max: 64 }, problems),
          threads: readInteger(env, 'RELAY_MODEL_THREADS', { fallback: Math.min(4, os.availableParallelism()), min: 1, max: 1024 }, problems),
          contextSize: readInteger(env, 'RELAY_MODEL_CONTEXT', { fallback: 4096, min: 256, max: 1_048_576 }, problems),
          maxQueue: readInteger(env, 'RELAY_MODEL_QUEUE', { fallback: 64, min: 0, max: 100_000 }, problems),
          gpu: gpu === 'auto',
        }

  const embeddingPath = env.RELAY_EMBEDDING_MODEL_PATH?.trim() ?? ''
  const embedding =
    embeddingPath === ''
      ? null
      : {
          modelPath: path.resolve(cwd, embeddingPath),
          threads: readInteger(env, 'RELAY_MODEL_THREADS', { fallback: Math.min(4, os.availableParallelism()), min: 1, max: 1024 }, embedded === null ? problems : []),
          contextSize: readInteger(env, 'RELAY_EMBEDDING_CONTEXT', { fallback: 8192, min: 16, max: 1_048_576 }, problems),
          gpu: gpu === 'auto',
        }

  const swarm = loadSwarmConfig(env, host, cwd, problems)

  if (problems.length > 0) throw new RelayConfigError(problems)
  return { tokens, ratePerMin, dailyTokens, maxBodyBytes, maxMessages, maxTokens, corsOrigins, upstreams, embedded, embedding, swarm }
}
