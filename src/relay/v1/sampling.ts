// Sampling fields past the ones every backend honours (temperature, top_p, seed, stop,
// max_tokens): each backend says which it honours (Backend.sampling), and the relay refuses the
// rest with a 400 naming the field and the backend, before anything runs; nothing is silently
// ignored. A field at the value that asks for nothing (a penalty of 0, top_k 0) is taken by
// every backend. A field the relay does not know is refused too, unless the backend passes
// unknown fields on (an upstream, which answers for them itself).
import { ChatCompletionRequestSchema, CompletionRequestSchema } from '../../shared/openai'
import { badRequest } from './errors'

export const samplingFields = ['frequency_penalty', 'presence_penalty', 'repeat_penalty', 'top_k', 'min_p', 'logit_bias', 'logprobs', 'top_logprobs'] as const
export type SamplingField = (typeof samplingFields)[number]

/** The numeric sampling fields a backend may take as they are (CompletionBackendRequest.sampling). */
export const numericSamplingFields = ['frequency_penalty', 'presence_penalty', 'repeat_penalty', 'top_k', 'min_p'] as const satisfies readonly SamplingField[]
export type NumericSamplingField = (typeof numericSamplingFields)[number]

export type GenerationKind = 'chat' | 'completion'

export interface SamplingSupport {
  /** The fields it honours on chat completions and on text completions. */
  readonly chat: readonly SamplingField[]
  readonly completion: readonly SamplingField[]
  /** Fields the relay does not know go on to the backend (an upstream) instead of a 400. */
  readonly passesUnknown: boolean
}

/** A backend that declares nothing honours no field past the common ones. */
export const noSampling: SamplingSupport = { chat: [], completion: [], passesUnknown: false }

/** The value of each field that asks for no change to sampling. */
const asksNothing: Readonly<Record<SamplingField, (value: unknown) => boolean>> = {
  frequency_penalty: (value) => value === 0,
  presence_penalty: (value) => value === 0,
  repeat_penalty: (value) => value === 1,
  // 0 (llama.cpp) and -1 (vLLM) both mean no top-k cut.
  top_k: (value) => value === 0 || value === -1,
  min_p: (value) => value === 0,
  logit_bias: (value) => typeof value === 'object' && value !== null && Object.keys(value).length === 0,
  logprobs: (value) => value === false,
  top_logprobs: (value) => value === 0,
}

/**
 * Fields another part of the relay reads (Qwen3's thinking switches, ./reasoning): known here so
 * that they are not refused as unknown.
 */
const readElsewhere = ['enable_thinking', 'chat_template_kwargs', 'reasoning_effort']

const isSamplingField = (field: string): field is SamplingField => (samplingFields as readonly string[]).includes(field)

/** The fields of each kind's schema that are not sampling fields: every backend takes them. */
const commonFields: Readonly<Record<GenerationKind, ReadonlySet<string>>> = {
  chat: new Set([...Object.keys(ChatCompletionRequestSchema.entries), ...readElsewhere].filter((field) => !isSamplingField(field))),
  completion: new Set([...Object.keys(CompletionRequestSchema.entries), ...readElsewhere].filter((field) => !isSamplingField(field))),
}

/** The relay's own fields of a request of `kind`, sampling fields included. */
export const isKnownField = (kind: GenerationKind, field: string): boolean => commonFields[kind].has(field) || isSamplingField(field)

/**
 * Refuses, with a 400 naming it, the first field of `request` that `backend` does not honour:
 * a sampling field it does not declare (unless it asks for nothing), or a field the relay does
 * not know when the backend does not pass those on.
 */
export function refuseUnhonoured(request: Readonly<Record<string, unknown>>, kind: GenerationKind, backend: { readonly name: string; readonly sampling?: SamplingSupport }): void {
  const support = backend.sampling ?? noSampling
  for (const [field, value] of Object.entries(request)) {
    if (value === undefined || value === null) continue
    if (isSamplingField(field)) {
      if (support[kind].includes(field) || asksNothing[field](value)) continue
      const honoured = support[kind].length === 0 ? 'none of the extra sampling fields' : support[kind].join(', ')
      throw badRequest(`${field} is not supported by the ${backend.name} backend (it honours ${honoured}); leave it out or send it to another model`, field, 'unsupported_parameter')
    }
    if (commonFields[kind].has(field) || support.passesUnknown) continue
    throw badRequest(`unknown field ${field}: the ${backend.name} backend does not honour it, and the relay ignores nothing silently; leave it out`, field, 'unknown_parameter')
  }
}

/** The numeric sampling fields `request` sets, by their OpenAI names. */
export function numericSampling(request: Readonly<Record<string, unknown>>): Partial<Record<NumericSamplingField, number>> {
  const picked: Partial<Record<NumericSamplingField, number>> = {}
  for (const field of numericSamplingFields) {
    const value = request[field]
    if (typeof value === 'number') picked[field] = value
  }
  return picked
}
