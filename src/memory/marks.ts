/**
 * High-water marks: for each signed value of the shared doc a reader has verified (a memory
 * entry, a net contribution), the newest version time it has seen. An older version signed by
 * the same author (a replay) never replaces it, on this node, across reloads too: the marks of
 * a room are kept beside its doc in IndexedDB (stored-marks.ts: this file stays DOM-free, for the
 * relay's room peer).
 */
export interface Marks {
  /** The newest version time seen for `key`, or undefined. */
  get(key: string): number | undefined
  /** Records that version `at` of `key` was seen; a lower `at` never lowers the mark. */
  raise(key: string, at: number): void
}

/** Past this many keys a reader stops marking new ones (the maps' own caps come first). */
export const maxMarks = 50_000

/** Marks kept in this page only (scripts, tests, and the fallback where IndexedDB is not there). */
export class MemoryMarks implements Marks {
  protected readonly marks = new Map<string, number>()

  get(key: string): number | undefined {
    return this.marks.get(key)
  }

  raise(key: string, at: number): void {
    const known = this.marks.get(key)
    if (known !== undefined && known >= at) return
    if (known === undefined && this.marks.size >= maxMarks) return
    this.marks.set(key, at)
    this.changed(key, at)
  }

  protected changed(_key: string, _at: number): void {}
}
