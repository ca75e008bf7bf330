// What failover costs a request on /v1 with several upstreams (issue 13): time to first token
// through a relay whose first upstream is fine, refuses connections (tried every time, or
// skipped by its open breaker), or says nothing until the timeout. The good upstream answers
// within a millisecond, so the figures are the relay's own. Every relay is its own process.
import { readSseData } from '../../src/shared/sse'
import { startFakeUpstream } from '../unit/relay-v1/fake-upstream'
import { closedPort } from '../unit/relay-v1/start'
import { startRelay, type RelayProcess } from './relay-process'
import { fmt, median, percentile, table } from './stats'

/** The fake upstream's model: a token a millisecond. */
const model = 'tokens'
const warmups = 20
const runs = 40
const silentTimeoutMs = 500
const unlimited = { RELAY_RATE_PER_MIN: '1000000', RELAY_DAILY_TOKENS: '0' }

async function firstTokenMs(relay: RelayProcess): Promise<number> {
  const startedMs = performance.now()
  const response = await fetch(`${relay.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, stream: true, max_tokens: 1, messages: [{ role: 'user', content: 'Hi' }] }),
  })
  if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status} ${await response.text()}`)
  let firstMs = Number.NaN
  for await (const data of readSseData(response.body)) if (Number.isNaN(firstMs) && data.includes('"tok "')) firstMs = performance.now() - startedMs
  if (Number.isNaN(firstMs)) throw new Error('the stream carried no text')
  return firstMs
}

/** Each relay's times, runs alternated across them (and warmed first) so drift and load fall on all alike. */
async function measure(envs: readonly Record<string, string>[], counts: readonly number[]): Promise<number[][]> {
  const relays: RelayProcess[] = []
  try {
    for (const env of envs) relays.push(await startRelay({ ...unlimited, ...env }))
    for (const relay of relays) for (let i = 0; i < warmups; i++) await firstTokenMs(relay)
    const times: number[][] = relays.map(() => [])
    for (let round = 0; round < Math.max(...counts); round++) {
      for (const [index, relay] of relays.entries()) if (round < (counts[index] ?? 0)) times[index]?.push(await firstTokenMs(relay))
    }
    return times
  } finally {
    await Promise.all(relays.map((relay) => relay.stop()))
  }
}

export async function benchUpstreams(): Promise<void> {
  const good = await startFakeUpstream(1)
  const silent = await startFakeUpstream(1)
  silent.setMode('hang')
  try {
    const down = `http://127.0.0.1:${await closedPort()}/v1`
    const alwaysTried = { RELAY_UPSTREAM_RETRIES: '0', RELAY_UPSTREAM_BREAKER_FAILURES: '1000' }
    const cases: [string, Record<string, string>, number][] = [
      ['one upstream (baseline)', { RELAY_UPSTREAM_URLS: `${good.url} ${model}` }, runs],
      ['first refuses connections, tried every time (breaker kept closed, no retries)', { RELAY_UPSTREAM_URLS: `${down} ${model}, ${good.url} ${model}`, ...alwaysTried }, runs],
      [
        'first refuses connections, RELAY_UPSTREAM_RETRIES default (2, kept for the last upstream)',
        { RELAY_UPSTREAM_URLS: `${down} ${model}, ${good.url} ${model}`, RELAY_UPSTREAM_BREAKER_FAILURES: '1000' },
        runs,
      ],
      ['first refuses connections, its breaker open (default: 3 failures, 30 s)', { RELAY_UPSTREAM_URLS: `${down} ${model}, ${good.url} ${model}` }, runs],
      [
        `first silent, timeout ${silentTimeoutMs} ms (breaker kept closed)`,
        { RELAY_UPSTREAM_URLS: `${silent.url} ${model}, ${good.url} ${model}`, RELAY_UPSTREAM_TIMEOUT_MS: String(silentTimeoutMs), ...alwaysTried },
        10,
      ],
    ]
    const times = await measure(
      cases.map(([, env]) => env),
      cases.map(([, , count]) => count),
    )
    const baselineMs = median(times[0] ?? [])
    const rows = cases.map(([label, , count], index) => {
      const these = times[index] ?? []
      return [label, String(count), fmt(median(these), 2), fmt(percentile(these, 95), 2), fmt(median(these) - baselineMs, 2)]
    })
    table(
      `/v1 failover across upstreams: time to first token through the relay (an upstream that answers within 1 ms; loopback; ${warmups} warmups each, runs alternated)`,
      ['first upstream', 'runs', 'p50 ms', 'p95 ms', 'p50 − baseline'],
      rows,
    )
  } finally {
    await Promise.all([good.close(), silent.close()])
  }
}
