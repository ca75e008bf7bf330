// Who a request comes from: the socket's address, or (behind a trusted proxy) the first address
// of X-Forwarded-For that no trusted proxy wrote; and the group a per-address limit counts it in.
import { registerError } from '../shared/errors'
import type { IncomingMessage } from 'node:http'
import { BlockList, isIP } from 'node:net'

/** `::ffff:1.2.3.4` is the IPv4 client 1.2.3.4; a zone (`fe80::1%eth0`) is dropped; lower case. */
export function normalizeAddress(address: string): string {
  const bare = address
    .trim()
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '')
    .toLowerCase()
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(bare)
  if (mapped?.[1] !== undefined) return mapped[1]
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(bare)
  if (mappedHex?.[1] !== undefined && mappedHex[2] !== undefined) {
    const high = parseInt(mappedHex[1], 16)
    const low = parseInt(mappedHex[2], 16)
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`
  }
  return bare
}

/** The eight 16-bit groups of an IPv6 address; null when it is not one. */
export function ipv6Groups(address: string): number[] | null {
  if (isIP(address) !== 6) return null
  let text = address
  // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two groups.
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', rest] = text.split('::', 2)
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)))
  const front = parse(head)
  const back = rest === undefined ? [] : parse(rest)
  const missing = 8 - front.length - back.length
  if (rest === undefined ? missing !== 0 : missing < 0) return null
  return [...front, ...Array<number>(Math.max(0, missing)).fill(0), ...back]
}

/**
 * The key of a per-address limit: an IPv4 address as it is, an IPv6 address by its /64 (one
 * subscriber usually gets a whole /64, so counting single addresses would limit nothing).
 */
export function addressGroup(address: string): string {
  const normalized = normalizeAddress(address)
  const groups = ipv6Groups(normalized)
  if (groups === null) return normalized
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`
}

export class TrustProxyError extends Error {
  static {
    registerError((message) => new this(message))
  }
  override readonly name = 'TrustProxyError'
}

/** Proxies whose X-Forwarded-For is believed. */
export interface TrustedProxies {
  readonly size: number
  trusts(address: string): boolean
}

/** Parses `1.2.3.4, 10.0.0.0/8, ::1, fd00::/8`; throws a TrustProxyError naming a bad entry. */
export function parseTrustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList()
  for (const entry of entries) {
    const [rawAddress = '', rawPrefix] = entry.split('/', 2)
    const address = normalizeAddress(rawAddress)
    const family = isIP(address)
    if (family === 0) throw new TrustProxyError(`${JSON.stringify(entry)} is not an IP address or CIDR block`)
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (rawPrefix === undefined) {
      list.addAddress(address, type)
      continue
    }
    const prefix = /^\d{1,3}$/.test(rawPrefix) ? Number(rawPrefix) : Number.NaN
    if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) throw new TrustProxyError(`${JSON.stringify(entry)}: bad prefix length`)
    list.addSubnet(address, prefix, type)
  }
  return {
    size: entries.length,
    trusts(address) {
      const normalized = normalizeAddress(address)
      const family = isIP(normalized)
      return family !== 0 && list.check(normalized, family === 4 ? 'ipv4' : 'ipv6')
    },
  }
}

const maxForwardedEntries = 32

/**
 * The client's address. Without trusted proxies, or from a peer that is not one, the socket's;
 * else X-Forwarded-For read from the right: each hop a trusted proxy appended is skipped, and
 * the first address no trusted proxy vouches for is the client (whatever it wrote left of it).
 */
export function clientAddressOf(req: IncomingMessage, trusted: TrustedProxies): string {
  const peer = normalizeAddress(req.socket.remoteAddress ?? 'unknown')
  if (trusted.size === 0 || !trusted.trusts(peer)) return peer
  const header = req.headers['x-forwarded-for']
  const text = Array.isArray(header) ? header.join(',') : (header ?? '')
  const hops = text
    .split(',')
    .slice(-maxForwardedEntries)
    .map(normalizeAddress)
    .filter((hop) => hop !== '')
  let client = peer
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = hops[i] ?? ''
    if (isIP(hop) === 0) break
    client = hop
    if (!trusted.trusts(hop)) break
  }
  return client
}
