// Who may call /v1 and how much: bearer tokens, a per-token rate, a daily token budget. A
// request reserves the most it may cost (its prompt's bound plus max_tokens) when admitted and
// settles at what it cost when it ends, so requests in parallel cannot overshoot the budget.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { ApiError } from './errors'

const windowMs = 60_000
const dayMs = 86_400_000

export interface Access {
  /**
   * The caller's key for limits: a token's hash, or (no tokens set) `clientGroup`, the
   * client's address group. Throws a 401 for a missing or wrong token.
   */
  authenticate(req: IncomingMessage, clientGroup: string): string
  /** Whether `req` carries a valid token; true when no tokens are set. Never throws. */
  authorized(req: IncomingMessage): boolean
  /** Counts one request for `caller`; throws a 429 past the rate or a day's budget already spent. */
  admit(caller: string, nowMs?: number): void
  /**
   * Reserves up to `tokens` of `caller`'s day for one request; throws a 429 when what is spent,
   * what other requests reserved and this would pass the budget. Settle it when the request ends.
   */
  reserve(caller: string, tokens: number, nowMs?: number): Reservation
  /** Adds tokens spent to `caller`'s day. */
  spend(caller: string, tokens: number, nowMs?: number): void
  tokensToday(caller: string, nowMs?: number): number
  /** Tokens reserved by `caller`'s requests still running. */
  reservedTokens(caller: string): number
}

export interface Reservation {
  readonly tokens: number
  /** Releases the reservation and spends `spent` tokens; only the first call counts. */
  settle(spent: number, nowMs?: number): void
}

/** How soon to retry when only other requests' reservations stand in the way. */
const reservedRetryAfterS = 5

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
  const reservedByCaller = new Map<string, number>()

  const today = (nowMs: number): number => Math.floor(nowMs / dayMs)
  const spentToday = (caller: string, nowMs: number): number => {
    const spent = spentByCaller.get(caller)
    return spent !== undefined && spent.day === today(nowMs) ? spent.tokens : 0
  }

  const untilMidnightS = (nowMs: number): number => Math.ceil(((today(nowMs) + 1) * dayMs - nowMs) / 1000)
  const budgetSpent = (nowMs: number): ApiError =>
    new ApiError(429, `daily token budget of ${dailyTokens} tokens is spent; it renews at 00:00 UTC`, 'rate_limit_error', 'daily_budget_exceeded', null, {
      'Retry-After': String(untilMidnightS(nowMs)),
    })

  const spend = (caller: string, tokens: number, nowMs = Date.now()): void => {
    if (dailyTokens === 0) return
    spentByCaller.set(caller, { day: today(nowMs), tokens: spentToday(caller, nowMs) + tokens })
    // Yesterday's counts go once the map is large: callers by address must not grow it forever.
    if (spentByCaller.size > 10_000) {
      for (const [key, spent] of spentByCaller) if (spent.day !== today(nowMs)) spentByCaller.delete(key)
    }
  }

  /** The digest of a valid bearer token of `req`, or why there is none. */
  const tokenOf = (req: IncomingMessage): Buffer | 'missing' | 'invalid' => {
    const bearer = bearerOf(req)
    if (bearer === null) return 'missing'
    const candidate = digest(bearer)
    // Compares against every token, in constant time each, so timing says nothing.
    const matches = tokenDigests.filter((known) => timingSafeEqual(known, candidate)).length
    return matches === 0 ? 'invalid' : candidate
  }

  return {
    authenticate(req, clientGroup) {
      if (tokenDigests.length === 0) return `address:${clientGroup}`
      const token = tokenOf(req)
      if (token === 'missing') {
        throw new ApiError(401, 'missing bearer token: send Authorization: Bearer <token> with a token from RELAY_TOKENS', 'authentication_error', 'missing_api_key')
      }
      if (token === 'invalid') throw new ApiError(401, 'invalid bearer token', 'authentication_error', 'invalid_api_key')
      return `token:${token.toString('hex').slice(0, 16)}`
    },

    authorized: (req) => tokenDigests.length === 0 || tokenOf(req) instanceof Buffer,

    admit(caller, nowMs = Date.now()) {
      const recent = (recentByCaller.get(caller) ?? []).filter((atMs) => atMs > nowMs - windowMs)
      if (recent.length >= ratePerMin) {
        recentByCaller.set(caller, recent)
        const retryAfterS = Math.max(1, Math.ceil(((recent[0] ?? nowMs) + windowMs - nowMs) / 1000))
        throw new ApiError(429, `rate limit: ${ratePerMin} requests per minute; retry in ${retryAfterS} s`, 'rate_limit_error', 'rate_limit_exceeded', null, { 'Retry-After': String(retryAfterS) })
      }
      if (dailyTokens > 0 && spentToday(caller, nowMs) >= dailyTokens) throw budgetSpent(nowMs)
      recent.push(nowMs)
      recentByCaller.set(caller, recent)
      // Forget callers idle for a window, so a scan of addresses cannot grow the map forever.
      if (recentByCaller.size > 10_000) {
        for (const [key, times] of recentByCaller) if ((times.at(-1) ?? 0) <= nowMs - windowMs) recentByCaller.delete(key)
      }
    },

    reserve(caller, tokens, nowMs = Date.now()) {
      if (dailyTokens === 0) return { tokens: 0, settle: () => undefined }
      const spent = spentToday(caller, nowMs)
      if (spent >= dailyTokens) throw budgetSpent(nowMs)
      const left = dailyTokens - spent
      if (tokens > left) {
        throw new ApiError(
          429,
          `this request may use up to ${tokens} tokens (its prompt and max_tokens), but ${left} of the daily budget of ${dailyTokens} are left; lower max_tokens, or wait for 00:00 UTC`,
          'rate_limit_error',
          'daily_budget_exceeded',
          null,
          { 'Retry-After': String(untilMidnightS(nowMs)) },
        )
      }
      const reserved = reservedByCaller.get(caller) ?? 0
      if (reserved + tokens > left) {
        throw new ApiError(
          429,
          `this request may use up to ${tokens} tokens, and requests still running have reserved ${reserved} of the ${left} left today; retry when they end`,
          'rate_limit_error',
          'daily_budget_reserved',
          null,
          { 'Retry-After': String(reservedRetryAfterS) },
        )
      }
      reservedByCaller.set(caller, reserved + tokens)
      let settled = false
      return {
        tokens,
        settle: (spentTokens, settledAtMs = Date.now()) => {
          if (settled) return
          settled = true
          const remaining = (reservedByCaller.get(caller) ?? tokens) - tokens
          if (remaining > 0) reservedByCaller.set(caller, remaining)
          else reservedByCaller.delete(caller)
          spend(caller, Math.max(0, spentTokens), settledAtMs)
        },
      }
    },

    reservedTokens: (caller) => reservedByCaller.get(caller) ?? 0,

    spend,

    tokensToday: (caller, nowMs = Date.now()) => spentToday(caller, nowMs),
  }
}
