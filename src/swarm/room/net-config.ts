// The page's side of GET /net.json: the ICE servers and signaling URLs its relay hands out,
// with a fallback that keeps an offline or older relay's page working.
import * as v from 'valibot'
import { NetConfigSchema, netConfigPath, type NetConfig } from '../../shared/net-config'

/** What the page uses when the relay cannot be asked (offline, an older relay). */
export const fallbackIceServers: NetConfig['iceServers'] = [{ urls: 'stun:stun.l.google.com:19302' }]

export interface LoadedNetConfig {
  config: NetConfig
  /** 'relay': as the relay said; 'fallback': it could not be asked, and `problem` says why. */
  source: 'relay' | 'fallback'
  problem: string | null
}

const fetchTimeoutMs = 4_000

/**
 * Asks the relay at `origin` for the network settings of node `nodeId`; never throws: an
 * answer that cannot be had or read gives the fallback (this relay's own signaling, public STUN).
 */
export async function loadNetConfig(origin: string, nodeId: string, signalingUrl: string, fetcher: typeof fetch = fetch): Promise<LoadedNetConfig> {
  const fallback = (problem: string): LoadedNetConfig => ({
    config: { v: 1, iceServers: fallbackIceServers, expiresAt: null, turn: false, signalingUrls: [signalingUrl] },
    source: 'fallback',
    problem,
  })
  const url = new URL(netConfigPath, origin)
  url.searchParams.set('node', nodeId)
  let body: unknown
  try {
    const response = await fetcher(url, { cache: 'no-store', signal: AbortSignal.timeout(fetchTimeoutMs) })
    if (!response.ok) return fallback(`the relay answered ${response.status} for ${netConfigPath}`)
    body = await response.json()
  } catch (error) {
    return fallback(`the relay could not be asked for its network settings (${error instanceof Error ? error.message : String(error)})`)
  }
  const parsed = v.safeParse(NetConfigSchema, body)
  if (!parsed.success) return fallback(`the relay's ${netConfigPath} is not valid: ${parsed.issues[0].message}`)
  return { config: parsed.output, source: 'relay', problem: null }
}

/** The relay's ICE servers as RTCPeerConnection takes them (no `undefined` fields). */
export function toRtcIceServers(servers: NetConfig['iceServers']): RTCIceServer[] {
  return servers.map(({ urls, username, credential }) => ({
    urls: typeof urls === 'string' ? urls : [...urls],
    ...(username === undefined ? {} : { username }),
    ...(credential === undefined ? {} : { credential }),
  }))
}
