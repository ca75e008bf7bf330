import * as Y from 'yjs'

/** At most one measurement per this long while the doc changes: encoding a large doc is not free. */
export const docSizeIntervalMs = 2_000

/**
 * The room doc's encoded size (`Y.encodeStateAsUpdate` length: what a newcomer downloads),
 * measured once now and then at most once per `intervalMs` after changes, never per update.
 */
export class DocSize {
  readonly #onUpdate = (): void => this.#schedule()
  #timer: ReturnType<typeof setTimeout> | null = null
  #bytes: number

  constructor(
    private readonly doc: Y.Doc,
    /** Told each measurement that differs from the last, in bytes. */
    private readonly onChange: (bytes: number) => void,
    private readonly intervalMs = docSizeIntervalMs,
  ) {
    this.#bytes = this.#measure()
    doc.on('update', this.#onUpdate)
  }

  /** The size at the last measurement, in bytes. */
  get bytes(): number {
    return this.#bytes
  }

  stop(): void {
    this.doc.off('update', this.#onUpdate)
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
  }

  #schedule(): void {
    if (this.#timer) return
    this.#timer = setTimeout(() => {
      this.#timer = null
      const bytes = this.#measure()
      if (bytes === this.#bytes) return
      this.#bytes = bytes
      this.onChange(bytes)
    }, this.intervalMs)
  }

  #measure(): number {
    return Y.encodeStateAsUpdate(this.doc).byteLength
  }
}

/** A byte count as the swarm view shows it: 812 B, 14.2 KB, 3.1 MB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`
}
