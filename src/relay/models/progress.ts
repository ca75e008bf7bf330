// A model download's progress: in the log, a line each 10 % or 5 s (never a flood, and a
// line even when a slow download crawls), and as text for /v1's 503 while it lasts.
import type { Logger, LogFields } from '../log'

export interface DownloadProgress {
  downloadedBytes: number
  /** 0 until the server said the size. */
  totalBytes: number
}

const stepPercent = 10
const everyMs = 5_000
const barWidth = 20

export const percentOf = (progress: DownloadProgress): number => (progress.totalBytes > 0 ? Math.floor((100 * progress.downloadedBytes) / progress.totalBytes) : 0)

const megabytes = (bytes: number): string => `${(bytes / 1_000_000).toFixed(1)} MB`

/** `42% (168.0 MB of 400.0 MB)`, or the bytes alone before the size is known. */
export function describeProgress(progress: DownloadProgress): string {
  if (progress.totalBytes <= 0) return `${megabytes(progress.downloadedBytes)} so far`
  return `${percentOf(progress)}% (${megabytes(progress.downloadedBytes)} of ${megabytes(progress.totalBytes)})`
}

/** `[########------------]` for a percentage. */
export function progressBar(percent: number): string {
  const filled = Math.round((Math.min(100, Math.max(0, percent)) / 100) * barWidth)
  return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`
}

/**
 * A sink for a download's progress that logs `downloading` lines: the first report, then each
 * time it passes another 10 %, or 5 s after the last line; `fields` go on every line.
 */
export function progressLogger(log: Logger, fields: LogFields, now: () => number = Date.now): (progress: DownloadProgress) => void {
  let loggedStep = -1
  let loggedMs = 0
  return (progress) => {
    const percent = percentOf(progress)
    const step = Math.floor(percent / stepPercent)
    const at = now()
    if (step === loggedStep && at - loggedMs < everyMs) return
    loggedStep = step
    loggedMs = at
    log.info(`embedded model downloading ${progressBar(percent)} ${describeProgress(progress)}`, { ...fields, percent, downloadedBytes: progress.downloadedBytes, totalBytes: progress.totalBytes })
  }
}
