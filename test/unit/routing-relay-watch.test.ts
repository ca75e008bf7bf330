import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { RelayEngine, RelayUnavailableError } from '../../src/inference/relay-engine'
import type { Timers } from '../../src/market'
import { InferenceError } from '../../src/shared/errors'
import { RelayWatch, type RelayWatchOptions } from '../../src/swarm/routing/relay-watch'
import { textOf } from './routing-engines'

/** Virtual time: callbacks run only when the test advances the clock. */
class VirtualTimers implements Timers {
  now = 0
  #next = 1
  readonly #due = new Map<number, { at: number; run: () => void }>()

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.#next++
    this.#due.set(id, { at: this.now + delayMs, run: callback })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.#due.delete(handle as number)
  }

  pending(): number {
    return this.#due.size
  }

  /** Moves the clock by `ms`, running what falls due in order and letting the promises they start settle. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms
    for (;;) {
      await settle()
      const [id, next] = [...this.#due.entries()].sort((a, b) => a[1].at - b[1].at)[0] ?? []
      if (id === undefined || !next || next.at > end) break
      this.#due.delete(id)
      this.now = next.at
      next.run()
    }
    this.now = end
    await settle()
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

type RelayMode = 'up' | 'down' | 'hang'

/** The relay's `/v1` as a fake fetch: up (serves tiny-qwen3), down (connection refused), or hanging. */
function fakeRelay(): { mode: RelayMode; models: number; chats: number; fetch: typeof fetch } {
  const relay = { mode: 'up' as RelayMode, models: 0, chats: 0, fetch: undefined as unknown as typeof fetch }
  relay.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : input.toString()
    if (url.endsWith('/models')) relay.models++
    else relay.chats++
    if (relay.mode === 'down') return Promise.reject(new TypeError('fetch failed'))
    if (relay.mode === 'hang') return new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), { once: true }))
    if (url.endsWith('/models')) return Promise.resolve(Response.json({ object: 'list', data: [{ id: 'swarm' }, { id: 'tiny-qwen3' }] }))
    const chunk = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'tiny-qwen3', choices: [{ index: 0, delta: { role: 'assistant', content: 'big answer' }, finish_reason: 'stop' }] }
    return Promise.resolve(new Response(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`, { headers: { 'content-type': 'text/event-stream' } }))
  }
  return relay
}

const options = (timers: Timers): Partial<RelayWatchOptions> => ({ failuresToOpen: 3, healthyProbeEveryMs: 30_000, firstRetryMs: 1_000, coolDownMs: 60_000, probeTimeoutMs: 5_000, timers })
const request = { messages: [{ role: 'user' as const, content: 'hard question' }] }

describe('RelayWatch', () => {
  let relay: ReturnType<typeof fakeRelay>
  let timers: VirtualTimers
  let watch: RelayWatch

  beforeEach(() => {
    relay = fakeRelay()
    vi.stubGlobal('fetch', relay.fetch)
    timers = new VirtualTimers()
    watch = new RelayWatch(new RelayEngine({ baseUrl: 'http://relay.test/v1', token: () => '' }), options(timers))
  })
  afterEach(async () => {
    await watch.unload()
    expect(timers.pending()).toBe(0)
    vi.unstubAllGlobals()
  })

  test('unavailable until asked; a load that reaches the relay makes it ready, and it is re-probed on a schedule', async () => {
    expect(watch.info()).toMatchObject({ kind: 'relay', availability: 'unavailable', reason: 'the relay has not been asked yet' })
    const progress: string[] = []
    await watch.load((event) => progress.push(event.text))
    expect(progress).toEqual(['the relay serves tiny-qwen3'])
    expect(watch.info()).toMatchObject({ availability: 'ready', modelId: 'tiny-qwen3' })
    expect(watch.info().reason).toBeUndefined()
    expect(relay.models).toBe(1)
    await timers.advance(30_000)
    expect(relay.models).toBe(2)
    await timers.advance(30_000)
    expect(relay.models).toBe(3)
  })

  test('the breaker opens after N failures in a row (backing off between them), fails chats at once, and probes again only after the cool-down', async () => {
    await watch.load(() => undefined)
    relay.mode = 'down'
    // Failure 1 on the scheduled probe; still ready (fewer than N).
    await timers.advance(30_000)
    expect(relay.models).toBe(2)
    expect(watch.state()).toEqual({ phase: 'up', failures: 1 })
    expect(watch.info().availability).toBe('ready')
    // Retries back off: 1 s, then 2 s.
    await timers.advance(999)
    expect(relay.models).toBe(2)
    await timers.advance(1)
    expect(relay.models).toBe(3)
    await timers.advance(1_999)
    expect(relay.models).toBe(3)
    await timers.advance(1)
    expect(relay.models).toBe(4)
    // Third failure: open.
    expect(watch.state().phase).toBe('open')
    expect(watch.info()).toMatchObject({ availability: 'unavailable', reason: 'relay unreachable: fetch failed' })
    // Open: a chat fails at once, without reaching the relay.
    const chatsBefore = relay.chats
    await expect(textOf(watch.chat(request))).rejects.toThrow(RelayUnavailableError)
    expect(relay.chats).toBe(chatsBefore)
    // No probe during the cool-down.
    await timers.advance(59_999)
    expect(relay.models).toBe(4)
    // The probe after the cool-down fails: still open, another cool-down.
    await timers.advance(1)
    expect(relay.models).toBe(5)
    expect(watch.state().phase).toBe('open')
    await timers.advance(59_999)
    expect(relay.models).toBe(5)
    // The relay is back: the next probe closes the breaker.
    relay.mode = 'up'
    await timers.advance(1)
    expect(relay.models).toBe(6)
    expect(watch.state()).toEqual({ phase: 'up', failures: 0 })
    expect(await textOf(watch.chat(request))).toBe('big answer')
  })

  test('chat failures that cannot reach the relay count towards the breaker; a chat that reaches it closes it', async () => {
    await watch.load(() => undefined)
    relay.mode = 'down'
    for (let i = 0; i < 3; i++) await expect(textOf(watch.chat(request))).rejects.toThrow(RelayUnavailableError)
    expect(watch.state().phase).toBe('open')
    expect(watch.info().availability).toBe('unavailable')
    // An explicit load probes at once, even while open; a success closes the breaker.
    relay.mode = 'up'
    await watch.load(() => undefined)
    expect(watch.state()).toEqual({ phase: 'up', failures: 0 })
    relay.mode = 'down'
    await expect(textOf(watch.chat(request))).rejects.toThrow(RelayUnavailableError)
    expect(watch.state()).toEqual({ phase: 'up', failures: 1 })
    relay.mode = 'up'
    expect(await textOf(watch.chat(request))).toBe('big answer')
    expect(watch.state()).toEqual({ phase: 'up', failures: 0 })
  })

  test('a relay that never answers: the load rejects and the watch retries with backoff until the breaker opens', async () => {
    relay.mode = 'down'
    await expect(watch.load(() => undefined)).rejects.toThrow(RelayUnavailableError)
    expect(watch.info()).toMatchObject({ availability: 'unavailable', reason: 'relay unreachable: fetch failed' })
    await timers.advance(1_000)
    await timers.advance(2_000)
    expect(relay.models).toBe(3)
    expect(watch.state().phase).toBe('open')
  })

  test('a probe that hangs times out as a failure', async () => {
    relay.mode = 'hang'
    const loading = watch.load(() => undefined)
    await timers.advance(5_000)
    await expect(loading).rejects.toThrow('relay unreachable: no answer within 5 s')
    expect(watch.state()).toEqual({ phase: 'unknown', failures: 1, reason: 'relay unreachable: no answer within 5 s' })
  })

  test('unload stops every timer and the probe in flight; chats then fail with a named error; load starts again', async () => {
    relay.mode = 'hang'
    const loading = watch.load(() => undefined)
    await settle()
    await watch.unload()
    await expect(loading).rejects.toThrow('the relay watch stopped')
    expect(timers.pending()).toBe(0)
    expect(watch.info()).toMatchObject({ availability: 'unavailable', reason: 'unloaded' })
    await expect(textOf(watch.chat(request))).rejects.toThrow(InferenceError)
    relay.mode = 'up'
    await watch.load(() => undefined)
    expect(watch.info().availability).toBe('ready')
  })

  test('a load stopped by its signal rejects with AbortError at once; the probe still counts', async () => {
    relay.mode = 'hang'
    const controller = new AbortController()
    const loading = watch.load(() => undefined, controller.signal)
    controller.abort()
    await expect(loading).rejects.toThrow('aborted')
    await timers.advance(5_000)
    expect(watch.state()).toMatchObject({ phase: 'unknown', failures: 1 })
  })
})
