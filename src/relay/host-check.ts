// Host and Origin checks. A DNS-rebinding page reaches the relay under the attacker's own
// name, so only names the relay is known by are served: loopback names, IP literals (no DNS,
// nothing to rebind), the bind host, and RELAY_PUBLIC_HOSTS. The same reading decides which
// browser pages may open /signal: the relay's own host, a loopback page, or a listed origin.
import { isIP } from 'node:net'

export interface HostRules {
  /** Exact names (`relay.example.org`) or, with a leading dot, a domain and its subdomains. */
  publicHosts: readonly string[]
  /** The HOST the relay binds, when it is a name. */
  bindHost: string
}

/** The host name of a Host header or URL authority, lower case, without port or trailing dot. */
export function hostnameOf(authority: string): string | null {
  const text = authority.trim().toLowerCase()
  if (text === '') return null
  if (text.startsWith('[')) {
    const end = text.indexOf(']')
    if (end === -1) return null
    const rest = text.slice(end + 1)
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return null
    return text.slice(1, end)
  }
  const match = /^([^:]+)(?::\d{1,5})?$/.exec(text)
  if (match?.[1] === undefined) return null
  return match[1].replace(/\.$/, '')
}

/** localhost, *.localhost, 127.0.0.0/8, ::1. */
export function isLoopbackName(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === '::1'
}

function matchesRule(hostname: string, rule: string): boolean {
  const normalized = rule.trim().toLowerCase().replace(/\.$/, '')
  if (normalized.startsWith('.')) return hostname === normalized.slice(1) || hostname.endsWith(normalized)
  return hostname === normalized
}

/** Whether a request's Host header names this relay. */
export function hostAllowed(hostHeader: string | undefined, rules: HostRules): boolean {
  if (hostHeader === undefined) return false
  const hostname = hostnameOf(hostHeader)
  if (hostname === null) return false
  if (isLoopbackName(hostname) || isIP(hostname) !== 0) return true
  const bind = hostnameOf(rules.bindHost)
  if (bind !== null && hostname === bind) return true
  return rules.publicHosts.some((rule) => matchesRule(hostname, rule))
}

/**
 * Whether a WebSocket upgrade's Origin may use /signal: none (not a browser), the relay's own
 * host, a loopback page (development), or one of `allowed` (`*`: any).
 */
export function upgradeOriginAllowed(origin: string | undefined, hostHeader: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true
  if (allowed.includes('*') || allowed.includes(origin)) return true
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false
  if (hostHeader !== undefined && url.host === hostHeader.trim().toLowerCase()) return true
  const hostname = url.hostname.replace(/^\[|\]$/g, '')
  return isLoopbackName(hostname)
}
