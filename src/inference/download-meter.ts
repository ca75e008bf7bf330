/** Download figures for a progress bar: bytes, speed (smoothed) and time left. */
export interface DownloadFigures {
  loadedBytes: number
  totalBytes: number
  fraction: number
  bytesPerS: number
  etaS: number
}

const smoothing = 0.3

export class DownloadMeter {
  #lastBytes = 0
  #lastMs = 0
  #bytesPerS = 0

  constructor(private readonly clock: () => number = () => performance.now()) {}

  update(loadedBytes: number, totalBytes: number): DownloadFigures {
    const now = this.clock()
    if (this.#lastMs > 0 && now > this.#lastMs && loadedBytes >= this.#lastBytes) {
      const instant = ((loadedBytes - this.#lastBytes) * 1000) / (now - this.#lastMs)
      this.#bytesPerS = this.#bytesPerS === 0 ? instant : this.#bytesPerS * (1 - smoothing) + instant * smoothing
    }
    this.#lastBytes = loadedBytes
    this.#lastMs = now
    const fraction = totalBytes > 0 ? Math.min(1, loadedBytes / totalBytes) : 0
    const etaS = this.#bytesPerS > 0 && totalBytes > 0 ? Math.max(0, (totalBytes - loadedBytes) / this.#bytesPerS) : Number.POSITIVE_INFINITY
    return { loadedBytes, totalBytes, fraction, bytesPerS: this.#bytesPerS, etaS }
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] ?? 'TB'}`
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '…'
  if (seconds < 60) return `${Math.ceil(seconds)} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`
  return `${Math.floor(seconds / 3600)} h ${Math.ceil((seconds % 3600) / 60)} min`
}
