// Who may call /v1 and how much: bearer tokens, a per-token rate, a daily token budget.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { ApiError } from './errors'

const windowMs = 60_000
const dayMs = 86_400_000

export interface Access {
  /** The caller's key for limits (a token's hash, or its address when no tokens are set). */
  authenticate(req: IncomingMessage): string
  /** Counts one request for `caller`; throws a 429 past the rate or the day's budget. */
  admit(caller: string, nowMs?: number): void
  /** Adds tokens spent to `caller`'s day. */
  spend(caller: string, tokens: number, nowMs?: number): void
  tokensToday(caller: string, nowMs?: number): number
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest()

function bearerOf(req: IncomingMessage): string | null {
  const header = req.headers.authorization
  if (header === undefined) return null
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1] ?? null
}

export interface AccessOptions {
  tokens: readonly string[]
  ratePerMin: number
  /** 0: no budget. */
  dailyTokens: number
}

export function createAccess({ tokens, ratePerMin, dailyTokens }: AccessOptions): Access {
  const tokenDigests = tokens.map(digest)
  const recentByCaller = new Map<string, number[]>()
  const spentByCaller = new Map<string, { day: number; tokens: number }>()

  const today = (nowMs: number): number => Math.floor(nowMs / dayMs)
  const spentToday = (caller: string, nowMs: number): number => {
    const spent = spentByCaller.get(caller)
    return spent !== undefined && spent.day === today(nowMs) ? spent.tokens : 0
  }

  return {
    authenticate(req) {
      if (tokenDigests.length === 0) return `address:${req.socket.remoteAddress ?? 'unknown'}`
      const bearer = bearerOf(req)
      if (bearer === null) {
        throw new ApiError(401, 'missing bearer token: send Authorization: Bearer <token> with a token from RELAY_TOKENS', 'authentication_error', 'missing_api_key')
      }
      const candidate = digest(bearer)
      // Compares against every token, in constant time each, so timing says nothing.
      const matches = tokenDigests.filter((known) => timingSafeEqual(known, candidate)).length
      if (matches === 0) throw new ApiError(401, 'invalid bearer token', 'authentication_error', 'invalid_api_key')
      return `token:${candidate.toString('hex').slice(0, 16)}`
    },

    admit(caller, nowMs = Date.now()) {
      const recent = (recentByCaller.get(caller) ?? []).filter((atMs) => atMs > nowMs - windowMs)
      if (recent.length >= ratePerMin) {
        recentByCaller.set(caller, recent)
        const retryAfterS = Math.max(1, Math.ceil(((recent[0] ?? nowMs) + windowMs - nowMs) / 1000))
        throw new ApiError(429, `rate limit: ${ratePerMin} requests per minute; retry in ${retryAfterS} s`, 'rate_limit_error', 'rate_limit_exceeded', null, { 'Retry-After': String(retryAfterS) })
      }
      if (dailyTokens > 0 && spentToday(caller, nowMs) >= dailyTokens) {
        const retryAfterS = Math.ceil(((today(nowMs) + 1) * dayMs - nowMs) / 1000)
        throw new ApiError(429, `daily token budget of ${dailyTokens} tokens is spent; it renews at 00:00 UTC`, 'rate_limit_error', 'daily_budget_exceeded', null, { 'Retry-After': String(retryAfterS) })
      }
      recent.push(nowMs)
      recentByCaller.set(caller, recent)
      // Forget callers idle for a window, so a scan of addresses cannot grow the map forever.
      if (recentByCaller.size > 10_000) {
        for (const [key, times] of recentByCaller) if ((times.at(-1) ?? 0) <= nowMs - windowMs) recentByCaller.delete(key)
      }
    },

    spend(caller, tokens, nowMs = Date.now()) {
      if (dailyTokens === 0) return
      spentByCaller.set(caller, { day: today(nowMs), tokens: spentToday(caller, nowMs) + tokens })
    },

    tokensToday: (caller, nowMs = Date.now()) => spentToday(caller, nowMs),
  }
}
