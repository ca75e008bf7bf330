// Text completions on the embedded backend: node-llama-cpp's LlamaCompletion on a sequence of
// the pool, the prompt as it is (no chat template), or fill-in-the-middle with the model's infill
// tokens (Qwen2.5-Coder's <|fim_prefix|> <|fim_suffix|> <|fim_middle|>, which llama.cpp finds by
// name or from the GGUF's metadata). Also the sampling options both kinds of request map onto.
import type { LlamaCompletionGenerationOptions, LlamaContextSequence, LlamaModel, Token, TokenBias } from 'node-llama-cpp'
import type { AsyncQueue } from '../../shared/async-queue'
import { textChunkBuilder, type TextCompletionChunk } from '../../shared/openai'
import type { CompletionBackendRequest } from './backend'
import { badRequest } from './errors'
import type { NumericSamplingField, SamplingField, SamplingSupport } from './sampling'

const honoured = ['frequency_penalty', 'presence_penalty', 'repeat_penalty', 'top_k', 'min_p', 'logit_bias'] as const satisfies readonly SamplingField[]

/** What node-llama-cpp's sampler takes: penalties over the last 64 tokens, top-k, min-p, a bias per token. */
export const embeddedSampling: SamplingSupport = { chat: honoured, completion: honoured, passesUnknown: false }

type SamplingOptions = Pick<LlamaCompletionGenerationOptions, 'topK' | 'minP' | 'repeatPenalty' | 'tokenBias'>

type SamplingFields = Readonly<Partial<Record<NumericSamplingField, number | null | undefined>>> & { readonly logit_bias?: Readonly<Record<string, number>> | null | undefined }

/**
 * OpenAI's `logit_bias` as node-llama-cpp's: -100 bans the token, other values are added to its
 * logit. A token id past the vocabulary is a 400 naming the field (llama.cpp would read past its logits).
 */
async function tokenBiasOf(model: LlamaModel, bias: Readonly<Record<string, number>>): Promise<TokenBias> {
  const { TokenBias } = await import('node-llama-cpp')
  const vocabularySize = model.fileInfo.metadata.tokenizer.ggml.tokens.length
  const tokenBias = new TokenBias(model.tokenizer)
  for (const [id, value] of Object.entries(bias)) {
    const token = Number(id)
    if (!(token < vocabularySize)) throw badRequest(`logit_bias: token ${id} is not in the model's vocabulary of ${vocabularySize} tokens`, 'logit_bias')
    tokenBias.set(token as Token, value <= -100 ? 'never' : { logit: value })
  }
  return tokenBias
}

/** The sampler options for the fields a request sets; node-llama-cpp's defaults for the rest. */
export async function samplingOptions(model: LlamaModel, fields: SamplingFields): Promise<SamplingOptions> {
  const { frequency_penalty: frequencyPenalty, presence_penalty: presencePenalty, repeat_penalty: penalty, top_k: topK, min_p: minP } = fields
  const repeat = {
    ...(penalty == null ? {} : { penalty }),
    ...(frequencyPenalty == null ? {} : { frequencyPenalty }),
    ...(presencePenalty == null ? {} : { presencePenalty }),
  }
  return {
    // vLLM's -1 and llama.cpp's 0 both mean no top-k cut.
    ...(topK == null ? {} : { topK: Math.max(0, topK) }),
    ...(minP == null ? {} : { minP }),
    // OpenAI's penalties count every token; node-llama-cpp's chat leaves out the newline unless told.
    ...(Object.keys(repeat).length === 0 ? {} : { repeatPenalty: { ...repeat, penalizeNewLine: true } }),
    ...(fields.logit_bias == null || Object.keys(fields.logit_bias).length === 0 ? {} : { tokenBias: await tokenBiasOf(model, fields.logit_bias) }),
  }
}

/** Whether `model` has the tokens fill-in-the-middle needs. */
export const infillSupported = (model: LlamaModel): boolean => model.tokens.infill.prefix !== null && model.tokens.infill.suffix !== null

/** 400 for a `suffix` the model cannot fill in before (call before anything is queued). */
export function checkInfill(model: LlamaModel, modelId: string, request: CompletionBackendRequest): void {
  if (request.suffix === undefined || infillSupported(model)) return
  throw badRequest(
    `suffix: the model ${modelId} has no infill tokens (such as <|fim_prefix|>, <|fim_suffix|> and <|fim_middle|>), so it cannot fill in the middle; leave suffix out, or use a code model`,
    'suffix',
    'infill_unsupported',
  )
}

/** Generates `request` on `sequence` into `queue`: text chunks, a finish reason, usage. Quiet when `signal` aborts. */
export async function runCompletion(model: LlamaModel, sequence: LlamaContextSequence, request: CompletionBackendRequest, signal: AbortSignal, queue: AsyncQueue<TextCompletionChunk>): Promise<void> {
  const { LlamaCompletion } = await import('node-llama-cpp')
  const completion = new LlamaCompletion({ contextSequence: sequence })
  try {
    const chunks = textChunkBuilder(request.model)
    let completionTokens = 0
    const options: LlamaCompletionGenerationOptions = {
      maxTokens: request.max_tokens,
      temperature: request.temperature ?? 1,
      ...(request.top_p === undefined ? {} : { topP: request.top_p }),
      ...(request.seed === undefined ? {} : { seed: request.seed }),
      ...(await samplingOptions(model, { ...request.sampling, logit_bias: request.logit_bias })),
      customStopTriggers: request.stop,
      signal,
      stopOnAbortSignal: true,
      onToken: (tokens) => {
        completionTokens += tokens.length
      },
      onTextChunk: (text) => {
        if (text !== '') queue.push(chunks.text(text))
      },
    }
    const promptTokens = model.tokenize(request.prompt).length + (request.suffix === undefined ? 0 : model.tokenize(request.suffix).length)
    // An empty prompt continues from nothing: node-llama-cpp finds no room for it after what the sequence holds.
    if (promptTokens === 0) await sequence.clearHistory()
    const result =
      request.suffix === undefined ? await completion.generateCompletionWithMeta(request.prompt, options) : await completion.generateInfillCompletionWithMeta(request.prompt, request.suffix, options)
    if (signal.aborted) return
    queue.push(chunks.finish(result.metadata.stopReason === 'maxTokens' ? 'length' : 'stop'))
    queue.push(chunks.usage({ prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens }))
  } finally {
    completion.dispose({ disposeSequence: false })
  }
}
