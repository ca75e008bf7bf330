// A random-weight model of llama.cpp architecture `qwen3`: the metadata keys llama.cpp reads
// for it (src/models/qwen3.cpp, src/llama-model.cpp load_hparams, src/llama-vocab.cpp) and the
// tensors llama_model_qwen3::load_arch_tensors creates. Shapes are ggml order, ne[0] first:
// a weight used as y = W x with x of n_in values has shape [n_in, n_out]. The output head is
// tied to token_embd (llama.cpp duplicates token_embd when output.weight is absent), as in
// Qwen3-0.6B.
import { qwen3ChatTemplate, qwen3ThinkingChatTemplate } from './chat-template'
import { bool, f32, i32s, str, strings, u32, transformerMetadata, type GgufFile, type GgufValue } from './format'
import { tensorSet } from './prng'
import { buildVocab } from './vocab'

export interface Qwen3Spec {
  name: string
  seed: number
  embeddingLength: number
  blockCount: number
  headCount: number
  headCountKv: number
  headDim: number
  feedForwardLength: number
  contextLength: number
  mergeCount: number
  /** Standard deviation of the random weights; norms are all ones. */
  weightStd: number
  /** `thinking`: the generation prompt opens `<think>` (qwen3ThinkingChatTemplate); Qwen3's own template otherwise. */
  chatTemplate?: 'qwen3' | 'thinking'
  /** Adds Qwen2.5-Coder's fill-in-the-middle tokens to the vocabulary. */
  fim?: boolean
}

export function buildQwen3(spec: Qwen3Spec): GgufFile {
  const vocab = buildVocab(spec.mergeCount, spec.fim === true)
  const architecture = 'qwen3'
  const metadata = new Map<string, GgufValue>([
    ...transformerMetadata(architecture, spec),
    [`${architecture}.attention.head_count_kv`, u32(spec.headCountKv)],
    [`${architecture}.attention.key_length`, u32(spec.headDim)],
    [`${architecture}.attention.value_length`, u32(spec.headDim)],
    [`${architecture}.attention.layer_norm_rms_epsilon`, f32(1e-6)],
    [`${architecture}.rope.freq_base`, f32(1_000_000)],
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str('qwen2')],
    ['tokenizer.ggml.tokens', strings(vocab.tokens)],
    ['tokenizer.ggml.token_type', i32s(vocab.tokenTypes)],
    ['tokenizer.ggml.merges', strings(vocab.merges)],
    ['tokenizer.ggml.bos_token_id', u32(vocab.ids.endOfText)],
    ['tokenizer.ggml.eos_token_id', u32(vocab.ids.imEnd)],
    ['tokenizer.ggml.padding_token_id', u32(vocab.ids.endOfText)],
    ['tokenizer.ggml.add_bos_token', bool(false)],
    ['tokenizer.chat_template', str(spec.chatTemplate === 'thinking' ? qwen3ThinkingChatTemplate : qwen3ChatTemplate)],
  ])

  const { tensors, random, filled } = tensorSet(spec.seed, spec.weightStd)
  const ones = (name: string, size: number): void => filled(name, size, 1)

  const embd = spec.embeddingLength
  const qSize = spec.headCount * spec.headDim
  const kvSize = spec.headCountKv * spec.headDim
  const ff = spec.feedForwardLength
  random('token_embd.weight', [embd, vocab.tokens.length])
  silenceEndOfGeneration(tensors[tensors.length - 1]?.data ?? new Float32Array(), embd, [...Object.values(vocab.ids), ...vocab.fimIds])
  ones('output_norm.weight', embd)
  for (let block = 0; block < spec.blockCount; block++) {
    const prefix = `blk.${block}.`
    ones(`${prefix}attn_norm.weight`, embd)
    random(`${prefix}attn_q.weight`, [embd, qSize])
    random(`${prefix}attn_k.weight`, [embd, kvSize])
    random(`${prefix}attn_v.weight`, [embd, kvSize])
    random(`${prefix}attn_output.weight`, [qSize, embd])
    ones(`${prefix}attn_q_norm.weight`, spec.headDim)
    ones(`${prefix}attn_k_norm.weight`, spec.headDim)
    ones(`${prefix}ffn_norm.weight`, embd)
    random(`${prefix}ffn_gate.weight`, [embd, ff])
    random(`${prefix}ffn_up.weight`, [embd, ff])
    random(`${prefix}ffn_down.weight`, [ff, embd])
  }
  return { metadata, tensors }
}

/**
 * Random weights make the end-of-generation tokens as likely as any other, so answers end at
 * random, often after a few tokens, and tests of streaming, stopping and failover get flaky.
 * The output head is tied to token_embd: a zero row gives the end tokens logit 0. Of ~400 logits
 * spread around 0, the 40th largest is always above 0 (about 1.28 std), so logit 0 never makes
 * the top 40 that llama.cpp samples from by default, and the model talks until max_tokens. A
 * small spread (std 0.3) keeps the output varied; a large one collapses it onto one token.
 * The control tokens and the <think> and tool tags get zero rows too: they would print nothing or
 * noise (a constrained decoder may still pick a tag where its grammar asks for one).
 */
const logitStd = 0.3

function silenceEndOfGeneration(embeddings: Float32Array, embd: number, endTokenIds: readonly number[]): void {
  const scale = logitStd / Math.sqrt(embd) / standardDeviation(embeddings)
  for (let i = 0; i < embeddings.length; i++) embeddings[i] = (embeddings[i] ?? 0) * scale
  for (const id of endTokenIds) embeddings.fill(0, id * embd, (id + 1) * embd)
}

function standardDeviation(values: Float32Array): number {
  let sum = 0
  let squares = 0
  for (const value of values) {
    sum += value
    squares += value * value
  }
  const mean = sum / values.length
  return Math.sqrt(squares / values.length - mean * mean) || 1
}

export function parameterCount(file: GgufFile): number {
  return file.tensors.reduce((sum, tensor) => sum + tensor.data.length, 0)
}
