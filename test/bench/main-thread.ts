// Each tab's main-thread time over a stretch of a bench (Chrome DevTools Protocol, Performance.getMetrics).
import type { CDPSession, Page } from '@playwright/test'

export const busyMetrics = ['TaskDuration', 'ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration'] as const
export type BusyMetric = (typeof busyMetrics)[number]
export type Busy = Record<BusyMetric, number>

async function metrics(session: CDPSession): Promise<Record<string, number>> {
  const { metrics } = await session.send('Performance.getMetrics')
  return Object.fromEntries(metrics.map(({ name, value }) => [name, value]))
}

/** A DevTools session on each page with its performance metrics on. */
export async function metricSessions(pages: readonly Page[]): Promise<CDPSession[]> {
  const sessions = await Promise.all(pages.map((page) => page.context().newCDPSession(page)))
  await Promise.all(sessions.map((session) => session.send('Performance.enable')))
  return sessions
}

/** Each tab's main-thread ms over `run` (what `run` gave beside them), and the wall-clock seconds it took. */
export async function busyOver<T>(sessions: readonly CDPSession[], run: () => Promise<T>): Promise<{ result: T; busy: Busy[]; seconds: number }> {
  const before = await Promise.all(sessions.map(metrics))
  const started = performance.now()
  const result = await run()
  const seconds = (performance.now() - started) / 1000
  const after = await Promise.all(sessions.map(metrics))
  const busy = after.map((end, i) => Object.fromEntries(busyMetrics.map((name) => [name, ((end[name] ?? 0) - (before[i]?.[name] ?? 0)) * 1000])) as Busy)
  return { result, busy, seconds }
}
