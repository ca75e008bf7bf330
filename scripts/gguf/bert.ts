// A random-weight sentence-embedding model of llama.cpp architecture `bert` with an XLM-RoBERTa
// unigram tokenizer (`t5`), the kind llama.cpp's converter writes for multilingual encoders such
// as granite-embedding-107m-multilingual and multilingual-e5-small: the metadata keys
// llama.cpp reads for it (src/llama-model.cpp load_hparams, src/llama-vocab.cpp) and the tensors
// it creates for LLM_ARCH_BERT (token, token-type and position embeddings, an embedding norm,
// post-norm blocks with biases). Shapes are ggml order, ne[0] first (see qwen3.ts).
import { bool, f32, f32s, i32s, str, strings, u32, transformerMetadata, type GgufFile, type GgufValue } from './format'
import { tensorSet } from './prng'
import { buildUgmVocab } from './ugm-vocab'

export interface BertSpec {
  name: string
  seed: number
  embeddingLength: number
  blockCount: number
  headCount: number
  feedForwardLength: number
  contextLength: number
  /** Standard deviation of the random weights; norms are ones, biases zeros. */
  weightStd: number
}

/** llama.cpp `llama_pooling_type`: the sentence vector is the first token's (`<s>`, CLS). */
const poolingCls = 2

export function buildBert(spec: BertSpec): GgufFile {
  const vocab = buildUgmVocab()
  const architecture = 'bert'
  const metadata = new Map<string, GgufValue>([
    ...transformerMetadata(architecture, spec),
    [`${architecture}.attention.layer_norm_epsilon`, f32(1e-5)],
    [`${architecture}.attention.causal`, bool(false)],
    [`${architecture}.pooling_type`, u32(poolingCls)],
    ['tokenizer.ggml.model', str('t5')],
    ['tokenizer.ggml.pre', str('default')],
    ['tokenizer.ggml.tokens', strings(vocab.tokens)],
    ['tokenizer.ggml.scores', f32s(vocab.scores)],
    ['tokenizer.ggml.token_type', i32s(vocab.tokenTypes)],
    ['tokenizer.ggml.token_type_count', u32(1)],
    ['tokenizer.ggml.add_space_prefix', bool(true)],
    ['tokenizer.ggml.remove_extra_whitespaces', bool(true)],
    ['tokenizer.ggml.bos_token_id', u32(vocab.ids.bos)],
    ['tokenizer.ggml.eos_token_id', u32(vocab.ids.eos)],
    ['tokenizer.ggml.unknown_token_id', u32(vocab.ids.unk)],
    ['tokenizer.ggml.seperator_token_id', u32(vocab.ids.eos)],
    ['tokenizer.ggml.padding_token_id', u32(vocab.ids.pad)],
    ['tokenizer.ggml.cls_token_id', u32(vocab.ids.bos)],
    ['tokenizer.ggml.add_bos_token', bool(true)],
    ['tokenizer.ggml.add_eos_token', bool(true)],
  ])

  const { tensors, random, filled } = tensorSet(spec.seed, spec.weightStd)
  const norm = (name: string, size: number): void => {
    filled(`${name}.weight`, size, 1)
    filled(`${name}.bias`, size, 0)
  }
  const linear = (name: string, inputs: number, outputs: number): void => {
    random(`${name}.weight`, [inputs, outputs])
    filled(`${name}.bias`, outputs, 0)
  }

  const embd = spec.embeddingLength
  const ff = spec.feedForwardLength
  random('token_embd.weight', [embd, vocab.tokens.length])
  random('token_types.weight', [embd, 1])
  random('position_embd.weight', [embd, spec.contextLength])
  norm('token_embd_norm', embd)
  for (let block = 0; block < spec.blockCount; block++) {
    const prefix = `blk.${block}.`
    linear(`${prefix}attn_q`, embd, embd)
    linear(`${prefix}attn_k`, embd, embd)
    linear(`${prefix}attn_v`, embd, embd)
    linear(`${prefix}attn_output`, embd, embd)
    norm(`${prefix}attn_output_norm`, embd)
    linear(`${prefix}ffn_up`, embd, ff)
    linear(`${prefix}ffn_down`, ff, embd)
    norm(`${prefix}layer_output_norm`, embd)
  }
  return { metadata, tensors }
}
