// A SentencePiece unigram vocabulary in the shape XLM-RoBERTa's tokenizer has in GGUF (llama.cpp
// tokenizer model `t5`, its UGM tokenizer): `<s>` `<pad>` `</s>` `<unk>` first, then pieces with
// log-probability scores, words carrying the `▁` word-start mark. A few hundred pieces of common
// words in several languages, and single characters so any text of those scripts tokenizes;
// anything else becomes `<unk>`, as with the real model.
import { tokenTypes as bpeTokenTypes } from './vocab'

/** llama.cpp `llama_token_type` values used here. */
export const ugmTokenTypes = { normal: bpeTokenTypes.normal, unknown: 2, control: bpeTokenTypes.control } as const

export interface UgmVocab {
  tokens: string[]
  scores: number[]
  tokenTypes: number[]
  ids: { bos: number; pad: number; eos: number; unk: number }
}

const wordStart = '\u2581'

const words = (
  'the of and to in is it you that was for on are with as be at have this from or by not but what all ' +
  'memory search room node fact note task answer question model swarm peer entry text ' +
  'der die das und ist nicht mit ein eine le la les et est une des pas el los las es que por una ' +
  'il di che non per una o em um uma não de du dans sur'
).split(' ')

const characters = [
  ...Array.from('abcdefghijklmnopqrstuvwxyz'),
  ...Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
  ...Array.from('0123456789'),
  ...Array.from('.,;:!?\'"()[]{}-_/\\@#$%&*+=<>|~`^'),
  ...Array.from('àáâäãåçèéêëìíîïñòóôöõùúûüýÿßæøœ'),
  ...Array.from('абвгдеёжзийклмнопрстуфхцчшщъыьэюя'),
  ...Array.from('的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年'),
]

export function buildUgmVocab(): UgmVocab {
  const tokens = ['<s>', '<pad>', '</s>', '<unk>']
  const types: number[] = [ugmTokenTypes.control, ugmTokenTypes.control, ugmTokenTypes.control, ugmTokenTypes.unknown]
  const scores = [0, 0, 0, 0]
  const known = new Set(tokens)
  const add = (piece: string, score: number): void => {
    if (known.has(piece)) return
    known.add(piece)
    tokens.push(piece)
    types.push(ugmTokenTypes.normal)
    scores.push(score)
  }
  // Whole words score best (the unigram model prefers one long piece to many short ones), more
  // frequent (earlier) words a little better; bare characters score worst.
  words.forEach((word, rank) => add(wordStart + word, -3 - rank / 100))
  add(wordStart, -6)
  characters.forEach((character, rank) => {
    add(character, -8 - rank / 1000)
    add(wordStart + character, -7 - rank / 1000)
  })
  return { tokens, scores, tokenTypes: types, ids: { bos: 0, pad: 1, eos: 2, unk: 3 } }
}
