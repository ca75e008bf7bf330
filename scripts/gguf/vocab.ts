// A GPT-2 style byte-level BPE vocabulary small enough for test models. Only tab, newline,
// space and printable ASCII have byte tokens, so whatever a random model samples decodes to
// valid UTF-8 (with all 256 byte tokens it emits broken sequences, and wllama's worker dies).
// Merges are learnt here, deterministically, from common English words, so text tokenizes
// into word pieces as with a real model.

/** llama.cpp `llama_token_type` values. */
export const tokenTypes = { normal: 1, control: 3, userDefined: 4 } as const

export interface Vocab {
  tokens: string[]
  tokenTypes: number[]
  /** "left right" pairs, highest priority first, as tokenizer.ggml.merges stores them. */
  merges: string[]
  ids: { endOfText: number; imStart: number; imEnd: number; thinkStart: number; thinkEnd: number; toolCallStart: number; toolCallEnd: number; toolResponseStart: number; toolResponseEnd: number }
  /** The fill-in-the-middle tokens, when asked for; none otherwise. */
  fimIds: number[]
}

/** Qwen2.5-Coder's (and Qwen3's) fill-in-the-middle tokens; llama.cpp finds them by these names. */
export const fimTokens = ['<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>'] as const

const encodedBytes = [0x09, 0x0a, 0x20, ...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => 0x21 + i)]

/** GPT-2's bytes_to_unicode for the bytes used here: printable ASCII stays itself, the
 *  bytes below 0x21 move to U+0100 + byte (space is 'Ġ', newline 'Ċ', tab 'ĉ'). */
export function byteToSymbol(byte: number): string {
  if (byte >= 0x21 && byte <= 0x7e) return String.fromCharCode(byte)
  if (byte >= 0 && byte < 0x21) return String.fromCharCode(0x100 + byte)
  throw new Error(`byte 0x${byte.toString(16)} has no token in this vocabulary`)
}

// Most frequent English words, most frequent first; their rank sets their weight in training.
const commonWords = (
  'the of and to a in is it you that he was for on are with as I his they be at one have this ' +
  'from or had by not word but what some we can out other were all there when up use your how said ' +
  'an each she which do their time if will way about many then them write would like so these her ' +
  'long make thing see him two has look more day could go come did number sound no most people my ' +
  'over know water than call first who may down side been now find any new work part take get place ' +
  'made live where after back little only round man year came show every good me give our under name ' +
  'very through just form sentence great think say help low line differ turn cause much mean before ' +
  'move right boy old too same tell does set three want air well also play small end put home read ' +
  'hand port large spell add even land here must big high such follow act why ask men change went ' +
  'light kind off need house picture try us again animal point mother world near build self earth ' +
  'father head stand own page should country found answer school grow study still learn plant cover ' +
  'food sun four between state keep eye never last let thought city tree cross farm hard start might ' +
  'story saw far sea draw left late run while press close night real life few north hello question'
).split(' ')

function trainingPieces(): Map<string, number> {
  const space = byteToSymbol(0x20)
  const pieces = new Map<string, number>()
  const add = (piece: string, weight: number): void => {
    pieces.set(piece, (pieces.get(piece) ?? 0) + weight)
  }
  commonWords.forEach((word, rank) => {
    const weight = Math.round(100_000 / (rank + 10))
    const capitalized = word.charAt(0).toUpperCase() + word.slice(1)
    add(space + word, weight)
    add(word, Math.round(weight / 4))
    add(space + capitalized, Math.round(weight / 8))
    add(capitalized, Math.round(weight / 8))
  })
  const newline = byteToSymbol(0x0a)
  add(newline + newline, 5_000)
  return pieces
}

/** Learns up to `mergeCount` merges: each step merges the most frequent adjacent pair, ties
 *  broken by the pair's text, so the result does not depend on Map or sort stability. */
function learnMerges(mergeCount: number): [string, string][] {
  const words = [...trainingPieces()].map(([piece, weight]) => ({ symbols: Array.from(piece), weight }))
  const merges: [string, string][] = []
  while (merges.length < mergeCount) {
    const pairCounts = new Map<string, number>()
    for (const { symbols, weight } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const pair = `${symbols[i] ?? ''} ${symbols[i + 1] ?? ''}`
        pairCounts.set(pair, (pairCounts.get(pair) ?? 0) + weight)
      }
    }
    let best: [string, number] | undefined
    for (const entry of pairCounts) {
      if (best === undefined || entry[1] > best[1] || (entry[1] === best[1] && entry[0] < best[0])) best = entry
    }
    if (best === undefined) break
    const [left = '', right = ''] = best[0].split(' ')
    merges.push([left, right])
    for (const word of words) {
      const merged: string[] = []
      for (let i = 0; i < word.symbols.length; i++) {
        if (word.symbols[i] === left && word.symbols[i + 1] === right) {
          merged.push(left + right)
          i++
        } else {
          merged.push(word.symbols[i] ?? '')
        }
      }
      word.symbols = merged
    }
  }
  return merges
}

/** Byte tokens, then one token per merge, then the Qwen special tokens and tags (and, with `fim`, the infill tokens). */
export function buildVocab(mergeCount: number, fim = false): Vocab {
  const tokens = encodedBytes.map(byteToSymbol)
  const types: number[] = tokens.map(() => tokenTypes.normal)
  const merges = learnMerges(mergeCount)
  const known = new Set(tokens)
  for (const [left, right] of merges) {
    if (known.has(left + right)) continue // two different pairs can spell the same token
    known.add(left + right)
    tokens.push(left + right)
    types.push(tokenTypes.normal)
  }
  const addSpecial = (text: string, type: number): number => {
    tokens.push(text)
    types.push(type)
    return tokens.length - 1
  }
  const ids = {
    endOfText: addSpecial('<|endoftext|>', tokenTypes.control),
    imStart: addSpecial('<|im_start|>', tokenTypes.control),
    imEnd: addSpecial('<|im_end|>', tokenTypes.control),
    thinkStart: addSpecial('<think>', tokenTypes.userDefined),
    thinkEnd: addSpecial('</think>', tokenTypes.userDefined),
    // Qwen3's tool-call tags are added tokens of their own, as in the real vocabulary.
    toolCallStart: addSpecial('<tool_call>', tokenTypes.userDefined),
    toolCallEnd: addSpecial('</tool_call>', tokenTypes.userDefined),
    toolResponseStart: addSpecial('<tool_response>', tokenTypes.userDefined),
    toolResponseEnd: addSpecial('</tool_response>', tokenTypes.userDefined),
  }
  const fimIds = fim ? fimTokens.map((text) => addSpecial(text, tokenTypes.control)) : []
  if (new Set(tokens).size !== tokens.length) throw new Error('vocabulary has duplicate tokens')
  return { tokens, tokenTypes: types, merges: merges.map(([left, right]) => `${left} ${right}`), ids, fimIds }
}
