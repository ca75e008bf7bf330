/**
 * The keys of a shared map a reader considers: the first `max` in key order (UTF-16 code
 * units), so every reader of the same doc keeps the same ones whatever order its updates came
 * in. Kept as one sorted array: a key in or out costs a binary search and a move, not a sort
 * of the whole map, so a flood of keys past the cap stays cheap to read.
 */
export class CappedKeys {
  readonly #sorted: string[] = []

  constructor(
    readonly max: number,
    keys: Iterable<string> = [],
  ) {
    this.#sorted.push(...keys)
    this.#sorted.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  }

  get size(): number {
    return this.#sorted.length
  }

  /** True when `key` is in the map and among the first `max`. */
  admits(key: string): boolean {
    const index = this.#indexOf(key)
    return index < this.max && this.#sorted[index] === key
  }

  /** Adds and removes keys; returns the other keys that came within the cap or fell out of it. */
  update(added: Iterable<string>, deleted: Iterable<string>): string[] {
    const moved: string[] = []
    for (const key of added) {
      const index = this.#indexOf(key)
      if (this.#sorted[index] === key) continue
      this.#sorted.splice(index, 0, key)
      const pushedOut = this.#sorted[this.max]
      if (index < this.max && pushedOut !== undefined) moved.push(pushedOut)
    }
    for (const key of deleted) {
      const index = this.#indexOf(key)
      if (this.#sorted[index] !== key) continue
      this.#sorted.splice(index, 1)
      const pulledIn = this.#sorted[this.max - 1]
      if (index < this.max && this.#sorted.length >= this.max && pulledIn !== undefined) moved.push(pulledIn)
    }
    return moved
  }

  #indexOf(key: string): number {
    let low = 0
    let high = this.#sorted.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if ((this.#sorted[middle] as string) < key) low = middle + 1
      else high = middle
    }
    return low
  }
}

/** Splits a Y.Map event's key changes into keys added and keys deleted (updates are neither). */
export function addedAndDeleted(changes: ReadonlyMap<string, { action: 'add' | 'update' | 'delete' }>): { added: string[]; deleted: string[] } {
  const added: string[] = []
  const deleted: string[] = []
  for (const [key, { action }] of changes) {
    if (action === 'add') added.push(key)
    else if (action === 'delete') deleted.push(key)
  }
  return { added, deleted }
}
