import type { GgufHeader } from './gguf-header'

/**
 * A byte-level BPE tokenizer (GPT-2 style, as Qwen2 and Qwen3 use) built from a GGUF's own
 * vocabulary and merges. It counts what llama.cpp's tokenizer would produce for the same text,
 * special tokens parsed (as a chat prompt is): a prompt's size can be known before it is sent.
 */

/** llama.cpp's pre-tokenizer split for `tokenizer.ggml.pre` = qwen2 (digits one by one). */
const qwen2Split = /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu
/** llama3's and GPT-4o's: digits in runs of up to three. */
const llama3Split = /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu
const splits: Record<string, RegExp> = { qwen2: qwen2Split, llama3: llama3Split, 'llama-bpe': llama3Split }

/** llama.cpp token types whose text is matched whole in a prompt: control and user-defined. */
const specialTypes = new Set([3, 4])

/** GPT-2's bytes_to_unicode: every byte as a printable character. */
function byteSymbols(): string[] {
  const symbols: string[] = []
  let next = 256
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff)
    symbols.push(String.fromCodePoint(printable ? byte : next++))
  }
  return symbols
}

const symbolOfByte = byteSymbols()
const encoder = new TextEncoder()

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export class BpeTokenizer {
  readonly #ids = new Map<string, number>()
  readonly #ranks = new Map<string, number>()
  readonly #special: RegExp | null
  readonly #split: RegExp
  readonly #cache = new Map<string, number>()

  constructor(header: Pick<GgufHeader, 'tokens' | 'tokenTypes' | 'merges' | 'preTokenizer'>) {
    header.tokens.forEach((token, id) => this.#ids.set(token, id))
    header.merges.forEach((merge, rank) => this.#ranks.set(merge, rank))
    const special = header.tokens.filter((_, id) => specialTypes.has(header.tokenTypes[id] ?? 0)).sort((a, b) => b.length - a.length)
    this.#special = special.length ? new RegExp(special.map(escapeRegExp).join('|'), 'g') : null
    this.#split = splits[header.preTokenizer] ?? qwen2Split
  }

  get vocabularySize(): number {
    return this.#ids.size
  }

  /** Tokens of `text`, special tokens (such as `<|im_start|>`) counted as one each. */
  count(text: string): number {
    let count = 0
    let start = 0
    if (this.#special) {
      for (const match of text.matchAll(this.#special)) {
        count += this.#countPlain(text.slice(start, match.index)) + 1
        start = match.index + match[0].length
      }
    }
    return count + this.#countPlain(text.slice(start))
  }

  #countPlain(text: string): number {
    let count = 0
    for (const match of text.matchAll(this.#split)) count += this.#countWord(match[0])
    return count
  }

  #countWord(word: string): number {
    const cached = this.#cache.get(word)
    if (cached !== undefined) return cached
    let symbols = Array.from(encoder.encode(word), (byte) => symbolOfByte[byte] ?? '')
    for (;;) {
      let best = -1
      let bestRank = Infinity
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.#ranks.get(`${symbols[i]} ${symbols[i + 1]}`)
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank
          best = i
        }
      }
      if (best < 0) break
      symbols = [...symbols.slice(0, best), `${symbols[best]}${symbols[best + 1]}`, ...symbols.slice(best + 2)]
    }
    let count = 0
    for (const symbol of symbols) {
      if (this.#ids.has(symbol)) count++
      // llama.cpp's fallback for a piece the vocabulary lacks: its single bytes that are tokens.
      else for (const byte of encoder.encode(symbol)) if (byte < 0x80 && this.#ids.has(String.fromCharCode(byte))) count++
    }
    if (this.#cache.size > 50_000) this.#cache.clear()
    this.#cache.set(word, count)
    return count
  }
}
