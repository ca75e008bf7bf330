import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { AbortError } from '../../src/shared/errors'
import { createAccess } from '../../src/relay/v1/access'
import { ApiError } from '../../src/relay/v1/errors'
import { createPool } from '../../src/relay/v1/pool'
import { parseChatRequest } from '../../src/relay/v1/request'
import { readSseData } from '../../src/shared/sse'

function catchApiError(run: () => unknown): ApiError {
  try {
    run()
  } catch (error) {
    if (error instanceof ApiError) return error
    throw error
  }
  throw new Error('expected an ApiError')
}

const fakeRequest = (authorization?: string): IncomingMessage =>
  ({ headers: authorization === undefined ? {} : { authorization }, socket: { remoteAddress: '10.0.0.1' } }) as unknown as IncomingMessage

describe('access', () => {
  it('keys callers by token, or by address group when no tokens are set', () => {
    const open = createAccess({ tokens: [], ratePerMin: 5, dailyTokens: 0 })
    expect(open.authenticate(fakeRequest(), '10.0.0.1')).toBe('address:10.0.0.1')
    expect(open.authorized(fakeRequest())).toBe(true)
    const closed = createAccess({ tokens: ['a', 'b'], ratePerMin: 5, dailyTokens: 0 })
    expect(closed.authenticate(fakeRequest('Bearer a'), 'x')).not.toBe(closed.authenticate(fakeRequest('bearer b'), 'x'))
    expect(closed.authenticate(fakeRequest('Bearer a'), 'x')).toBe(closed.authenticate(fakeRequest('Bearer a'), 'y'))
    expect(catchApiError(() => closed.authenticate(fakeRequest('Bearer c'), 'x')).status).toBe(401)
    expect(catchApiError(() => closed.authenticate(fakeRequest(), 'x')).code).toBe('missing_api_key')
    expect(closed.authorized(fakeRequest('Bearer b'))).toBe(true)
    expect(closed.authorized(fakeRequest('Bearer c'))).toBe(false)
    expect(closed.authorized(fakeRequest())).toBe(false)
  })

  it('limits the rate over a sliding minute and says when to retry', () => {
    const access = createAccess({ tokens: [], ratePerMin: 2, dailyTokens: 0 })
    access.admit('x', 0)
    access.admit('x', 20_000)
    const limited = catchApiError(() => access.admit('x', 30_000))
    expect(limited.status).toBe(429)
    expect(limited.headers['Retry-After']).toBe('30')
    access.admit('y', 30_000)
    access.admit('x', 60_001)
  })

  it('refuses a caller whose daily budget is spent until the next UTC day', () => {
    const access = createAccess({ tokens: [], ratePerMin: 1000, dailyTokens: 100 })
    const noon = Date.UTC(2026, 0, 1, 12)
    access.admit('x', noon)
    access.spend('x', 60, noon)
    access.admit('x', noon + 1)
    access.spend('x', 60, noon + 1)
    const spent = catchApiError(() => access.admit('x', noon + 2))
    expect(spent.code).toBe('daily_budget_exceeded')
    expect(Number(spent.headers['Retry-After'])).toBe(12 * 3600)
    expect(access.tokensToday('x', noon + 2)).toBe(120)
    access.admit('x', Date.UTC(2026, 0, 2, 0, 0, 1))
  })

  it('reserves the most a request may cost at admission and settles at what it cost', () => {
    const access = createAccess({ tokens: [], ratePerMin: 1000, dailyTokens: 100 })
    const noon = Date.UTC(2026, 0, 1, 12)
    const first = access.reserve('x', 60, noon)
    expect(access.reservedTokens('x')).toBe(60)
    // A second request that could take the day past its budget waits for the first to end.
    const held = catchApiError(() => access.reserve('x', 60, noon))
    expect(held).toMatchObject({ status: 429, code: 'daily_budget_reserved', headers: { 'Retry-After': '5' } })
    access.reserve('y', 60, noon).settle(0, noon)
    first.settle(25, noon)
    first.settle(1000, noon)
    expect(access.tokensToday('x', noon)).toBe(25)
    expect(access.reservedTokens('x')).toBe(0)
    const second = access.reserve('x', 75, noon)
    // More than is left today, whatever runs: refused until midnight, saying how to fit.
    const tooBig = catchApiError(() => access.reserve('z', 101, noon))
    expect(tooBig).toMatchObject({ status: 429, code: 'daily_budget_exceeded' })
    expect(tooBig.message).toMatch(/lower max_tokens/)
    second.settle(75, noon)
    expect(catchApiError(() => access.reserve('x', 1, noon)).code).toBe('daily_budget_exceeded')
    expect(createAccess({ tokens: [], ratePerMin: 1, dailyTokens: 0 }).reserve('x', 1e9).tokens).toBe(0)
  })
})

describe('the request parser', () => {
  const caps = { maxMessages: 2, maxTokens: 100 }
  it('defaults max_tokens to the cap and keeps unknown fields', () => {
    const request = parseChatRequest(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], user: 'u' }), caps)
    expect(request.max_tokens).toBe(100)
    expect(request.user).toBe('u')
    expect(parseChatRequest(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 7 }), caps).max_tokens).toBe(7)
  })

  it('names the field at fault', () => {
    expect(catchApiError(() => parseChatRequest('{"model":"m","messages":[]}', caps)).message).toMatch(/messages: messages is empty/)
    expect(catchApiError(() => parseChatRequest('{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":7}', caps)).param).toBe('temperature')
    expect(catchApiError(() => parseChatRequest('[1]', caps)).status).toBe(400)
  })
})

describe('the pool', () => {
  it('lends in FIFO order, queues to its limit, and drops an aborted waiter', async () => {
    const pool = createPool(['only'], 1)
    const never = new AbortController().signal
    const lent = await pool.acquire(never)
    const aborting = new AbortController()
    const waiting = pool.acquire(aborting.signal)
    await expect(pool.acquire(never)).rejects.toMatchObject({ status: 503, code: 'overloaded' })
    aborting.abort()
    await expect(waiting).rejects.toBeInstanceOf(AbortError)
    const next = pool.acquire(never)
    expect(pool.queued()).toBe(1)
    pool.release(lent)
    await expect(next).resolves.toBe('only')
    expect(pool.active()).toBe(1)
  })
})

describe('the SSE reader', () => {
  it('joins data lines, skips comments, and handles events split across reads', async () => {
    const encoder = new TextEncoder()
    const parts = [': ping\n\ndata: {"a"', ':1}\r\n\r\ndata: x\ndata: y\n\n', 'data: [DONE]\n\n'].map((part) => encoder.encode(part))
    const events: string[] = []
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(part)
        controller.close()
      },
    })
    for await (const data of readSseData(body)) events.push(data)
    expect(events).toEqual(['{"a":1}', 'x\ny', '[DONE]'])
  })
})
