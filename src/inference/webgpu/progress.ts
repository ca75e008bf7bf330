import type { InitProgressReport } from '@mlc-ai/web-llm'
import type { LoadProgress } from '../types'

const mib = 1 << 20

/* WebLLM 0.2.86 (tvmjs fetchTensorCacheInternal) reports "Fetching param cache[i/n]: 312MB fetched. …"
 * while downloading and "Loading model from cache[i/n]: 312MB loaded. …" while moving params to the
 * GPU, then "Loading GPU shader modules[i/n]: …" and "Finish loading on WebGPU - …". */
const bytesInText = /(\d+)\s*MB (?:fetched|loaded)/
const loadText = /^(?:Loading|Finish loading)/

/**
 * Maps one WebLLM init report to our LoadProgress: phase 'download' while fetching params, 'load'
 * after. Bytes come from WebLLM's text where it gives them (the total is inferred from the
 * fraction); otherwise the fraction is applied to the last known total (0 when none is known).
 */
export function toLoadProgress(report: InitProgressReport, previous?: LoadProgress): LoadProgress {
  const phase = loadText.test(report.text) ? 'load' : 'download'
  const fraction = Number.isFinite(report.progress) ? Math.min(1, Math.max(0, report.progress)) : 0
  const knownTotal = previous?.totalBytes ?? 0
  const bytes = bytesInText.exec(report.text)?.[1]
  if (bytes !== undefined) {
    const loadedBytes = Number(bytes) * mib
    const totalBytes = fraction > 0 ? Math.max(loadedBytes, Math.round(loadedBytes / fraction)) : knownTotal
    return { phase, loadedBytes, totalBytes, text: report.text }
  }
  return { phase, loadedBytes: Math.round(fraction * knownTotal), totalBytes: knownTotal, text: report.text }
}
