// Ollama's `options` turned into the relay's sampling fields, each honoured or refused with a
// 400 that names it: nothing a client sets is dropped without a word.
import * as v from 'valibot'
import { ApiError, badRequest } from '../v1/errors'
import { numericSamplingFields, refuseUnhonoured, type GenerationKind, type NumericSamplingField, type SamplingSupport } from '../v1/sampling'

export interface Sampling {
  /** From `num_predict`; absent for Ollama's -1 (no limit) and -2 (fill the context): the relay's cap then. */
  max_tokens?: number
  stop?: string[]
  temperature?: number
  top_p?: number
  seed?: number
  /** The context the client wants at least (`num_ctx`): checked against the model's own. */
  contextTokens?: number
  /** Further sampling fields by their OpenAI / llama-server names (`top_k`, `repeat_penalty`, …): each backend honours its own (refuseUnhonouredOptions). */
  extra: Partial<Record<NumericSamplingField, number>>
}

const number = v.pipe(v.number(), v.finite())
const integer = v.pipe(v.number(), v.integer())

/** The options with a field of their own in every backend's request, with the values each takes. */
const direct = {
  temperature: v.pipe(number, v.minValue(0), v.maxValue(2)),
  top_p: v.pipe(number, v.minValue(0), v.maxValue(1)),
  seed: integer,
  num_predict: v.union([v.pipe(integer, v.minValue(1)), v.literal(-1), v.literal(-2)], 'num_predict is a positive integer, -1 or -2'),
  stop: v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(256))), v.maxLength(16)),
  num_ctx: v.pipe(integer, v.minValue(1)),
} as const

/** Sampling options that go to the backend under the same name, where it honours them (../v1/sampling.ts). */
const isPassed = (name: string): name is NumericSamplingField => (numericSamplingFields as readonly string[]).includes(name)

/** What a load-time option of Ollama's is on the relay: its operator's setting, not the client's. */
const serverSide: Readonly<Record<string, string>> = {
  num_thread: 'RELAY_MODEL_THREADS',
  num_gpu: 'RELAY_MODEL_GPU',
  main_gpu: 'RELAY_MODEL_GPU',
  low_vram: 'RELAY_MODEL_GPU',
  num_batch: 'the relay',
  num_keep: 'the relay',
  use_mmap: 'the relay',
  use_mlock: 'the relay',
  numa: 'the relay',
  f16_kv: 'the relay',
  vocab_only: 'the relay',
  logits_all: 'the relay',
  embedding_only: 'the relay',
}

function checked<T>(name: string, schema: v.GenericSchema<unknown, T>, value: unknown): T {
  const parsed = v.safeParse(schema, value)
  if (!parsed.success) throw badRequest(`options.${name}: ${parsed.issues[0].message}`, `options.${name}`, 'invalid_option')
  return parsed.output
}

/** Reads `options`; throws a 400 naming the first option the relay cannot honour. */
export function readOptions(options: Readonly<Record<string, unknown>> | null | undefined): Sampling {
  const sampling: Sampling = { extra: {} }
  for (const [name, value] of Object.entries(options ?? {})) {
    if (value === null || value === undefined) continue
    switch (name) {
      case 'temperature':
      case 'top_p':
      case 'seed':
        sampling[name] = checked(name, direct[name], value)
        break
      case 'num_predict': {
        const limit = checked(name, direct.num_predict, value)
        if (limit > 0) sampling.max_tokens = limit
        break
      }
      case 'stop':
        sampling.stop = checked(name, direct.stop, value)
        break
      case 'num_ctx':
        sampling.contextTokens = checked(name, direct.num_ctx, value)
        break
      default:
        readOther(sampling, name, value)
    }
  }
  return sampling
}

function readOther(sampling: Sampling, name: string, value: unknown): void {
  if (isPassed(name)) {
    sampling.extra[name] = checked(name, number, value)
    return
  }
  const owner = serverSide[name]
  if (owner !== undefined) throw badRequest(`options.${name} is set by ${owner} on this relay, not per request`, `options.${name}`, 'unsupported_option')
  throw badRequest(`options.${name} is not supported by this relay`, `options.${name}`, 'unsupported_option')
}

/**
 * Refuses, with a 400 naming it, a field of `request` that `backend` does not honour (as /v1
 * does), a sampling field named as the option it came from.
 */
export function refuseUnhonouredOptions(request: Readonly<Record<string, unknown>>, kind: GenerationKind, backend: { readonly name: string; readonly sampling?: SamplingSupport }): void {
  try {
    refuseUnhonoured(request, kind, backend)
  } catch (error) {
    if (error instanceof ApiError && error.param !== null && isPassed(error.param)) throw badRequest(`options.${error.message}`, `options.${error.param}`, error.code)
    throw error
  }
}
