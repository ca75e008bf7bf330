// What each WebRTC link of the room really uses: read from its RTCPeerConnection's getStats()
// (the selected candidate pair), and the ICE errors its TURN servers answer with.

/** One link as measured: `relayed` when either end of its selected candidate pair is a TURN relay candidate. */
export interface LinkStat {
  /** y-webrtc's id of the peer at the other end (its presence's `linkId`). */
  linkId: string
  relayed: boolean
  /** Candidate types of the selected pair: host, srflx, prflx or relay. */
  localType: string
  remoteType: string
  /** The pair's current round-trip time; null until STUN consent checks have measured one. */
  rttMs: number | null
}

/** An `icecandidateerror` of a link or the TURN probe: the server that answered, and how. */
export interface IceError {
  url: string
  errorCode: number
  errorText: string
}

/** The fields of RTCStats entries this module reads; everything else is ignored. */
interface StatsEntry {
  id?: unknown
  type?: unknown
  state?: unknown
  nominated?: unknown
  selected?: unknown
  selectedCandidatePairId?: unknown
  localCandidateId?: unknown
  remoteCandidateId?: unknown
  candidateType?: unknown
  currentRoundTripTime?: unknown
}

/**
 * The selected candidate pair of one getStats() report: the transport's `selectedCandidatePairId`
 * where the browser says it, else a succeeded pair marked `selected` or `nominated`. Null while
 * no pair is chosen.
 */
export function readSelectedPair(entries: Iterable<unknown>, linkId: string): LinkStat | null {
  const byId = new Map<string, StatsEntry>()
  let selectedId: string | null = null
  for (const value of entries) {
    if (typeof value !== 'object' || value === null) continue
    const entry = value as StatsEntry
    if (typeof entry.id === 'string') byId.set(entry.id, entry)
    if (entry.type === 'transport' && typeof entry.selectedCandidatePairId === 'string') selectedId = entry.selectedCandidatePairId
  }
  let pair = selectedId === null ? undefined : byId.get(selectedId)
  if (pair === undefined) {
    const succeeded = [...byId.values()].filter((entry) => entry.type === 'candidate-pair' && entry.state === 'succeeded')
    pair = succeeded.find((entry) => entry.selected === true) ?? succeeded.find((entry) => entry.nominated === true)
  }
  if (pair === undefined) return null
  const typeOf = (id: unknown): string => {
    const candidate = typeof id === 'string' ? byId.get(id) : undefined
    return typeof candidate?.candidateType === 'string' ? candidate.candidateType : 'unknown'
  }
  const localType = typeOf(pair.localCandidateId)
  const remoteType = typeOf(pair.remoteCandidateId)
  const rttS = pair.currentRoundTripTime
  return {
    linkId,
    relayed: localType === 'relay' || remoteType === 'relay',
    localType,
    remoteType,
    rttMs: typeof rttS === 'number' && Number.isFinite(rttS) && rttS >= 0 ? Math.round(rttS * 10_000) / 10 : null,
  }
}

/** What the user reads when a TURN server refuses or does not answer; null for errors not worth telling (STUN, other codes). */
export function describeIceError({ url, errorCode, errorText }: IceError): string | null {
  if (!/^turns?:/.test(url)) return null
  if (errorCode === 401 || errorCode === 403 || errorCode === 431) {
    return `the TURN server ${url} refused this relay's credentials (${errorCode}${errorText ? ` ${errorText}` : ''}): RELAY_TURN_SECRET does not match coturn's static-auth-secret, or the credentials expired`
  }
  if (errorCode === 701) return `the TURN server ${url} did not answer (701${errorText ? ` ${errorText}` : ''}): check RELAY_TURN_URLS and that the server listens there and is reachable`
  return null
}

/** Reads one `icecandidateerror` event (RTCPeerConnectionIceErrorEvent) as an IceError. */
export function iceErrorOf(event: Event): IceError {
  const { url, errorCode, errorText } = event as Partial<RTCPeerConnectionIceErrorEvent>
  return { url: typeof url === 'string' ? url : '', errorCode: typeof errorCode === 'number' ? errorCode : 0, errorText: typeof errorText === 'string' ? errorText.slice(0, 200) : '' }
}
