// A seeded source of random choices for the relay fuzzer: one seed, one run.
import { mulberry32 } from '../../../src/shared/hash'

export interface Random {
  /** An integer in [0, below). */
  int(below: number): number
  chance(probability: number): boolean
  pick<T>(items: readonly T[]): T
  bytes(length: number): Uint8Array
  /** Printable ASCII, and now and then a control or non-ASCII character. */
  text(length: number): string
  /** A random JSON value, nested up to `depth`. */
  json(depth?: number): unknown
}

export function createRandom(seed: number): Random {
  const next = mulberry32(seed)
  const int = (below: number): number => Math.floor(next() * below)
  const pick = <T>(items: readonly T[]): T => {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[int(items.length)] as T
  }
  const text = (length: number): string => {
    let out = ''
    for (let i = 0; i < length; i += 1) {
      const roll = next()
      out += roll < 0.9 ? String.fromCharCode(32 + int(95)) : roll < 0.95 ? String.fromCharCode(int(32)) : String.fromCodePoint(0x80 + int(0x2ff00))
    }
    return out
  }
  const json = (depth = 3): unknown => {
    const kind = int(depth > 0 ? 8 : 6)
    switch (kind) {
      case 0:
        return null
      case 1:
        return next() < 0.5
      case 2:
        return pick([0, -1, 1.5, 2 ** 53, -(2 ** 60), 1e308, Number.MAX_SAFE_INTEGER, int(1000)])
      case 3:
        return text(int(40))
      case 4:
        return ''
      case 5:
        return pick(['announce', 'signal', 'offer', 'answer', 'candidate', 'publish', 'AES-GCM'])
      case 6:
        return Array.from({ length: int(5) }, () => json(depth - 1))
      default:
        return Object.fromEntries(Array.from({ length: int(5) }, () => [pick(['type', 'from', 'to', 'signal', 'sdp', 'candidate', 'data', text(6)]), json(depth - 1)]))
    }
  }
  return {
    int,
    chance: (probability) => next() < probability,
    pick,
    bytes: (length) => Uint8Array.from({ length }, () => int(256)),
    text,
    json,
  }
}
