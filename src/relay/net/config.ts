// Configuration of what the relay tells pages about the network (GET /net.json), from the
// environment:
//
//   RELAY_ICE_SERVERS     a JSON array of RTCIceServer (STUN, or TURN with fixed credentials)
//                         given to every page; default: one public STUN server
//   RELAY_SIGNALING_URLS  comma-separated ws:// or wss:// signaling URLs of the room's other
//                         relays, given to pages after the relay's own /signal; none
import * as v from 'valibot'
import type { Env } from '../env'
import { IceServerSchema, type IceServer } from '../../shared/net-config'

export interface NetConfigSettings {
  iceServers: readonly IceServer[]
  signalingUrls: readonly string[]
}

export const defaultIceServers: readonly IceServer[] = [{ urls: 'stun:stun.l.google.com:19302' }]

const signalingUrlPattern = /^wss?:\/\/[^\s/]+(\/[^\s]*)?$/

/** Reads the network settings; each problem goes to `problems`. */
export function loadNetSettings(env: Env, problems: string[]): NetConfigSettings {
  let iceServers: readonly IceServer[] = defaultIceServers
  const rawIce = env.RELAY_ICE_SERVERS?.trim() ?? ''
  if (rawIce !== '') {
    let parsed: unknown
    try {
      parsed = JSON.parse(rawIce)
    } catch (error) {
      problems.push(`RELAY_ICE_SERVERS is not JSON (${(error as Error).message}): expected an array like [{"urls":"stun:stun.example.org:3478"}]`)
    }
    if (parsed !== undefined) {
      const checked = v.safeParse(v.pipe(v.array(IceServerSchema), v.maxLength(12)), parsed)
      if (checked.success) iceServers = checked.output
      else problems.push(`RELAY_ICE_SERVERS: ${checked.issues.map((issue) => `${v.getDotPath(issue) ?? 'value'}: ${issue.message}`).join('; ')}`)
    }
  }
  const signalingUrls = (env.RELAY_SIGNALING_URLS ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
  for (const url of signalingUrls) {
    if (!signalingUrlPattern.test(url) || url.length > 512) problems.push(`RELAY_SIGNALING_URLS: ${JSON.stringify(url.slice(0, 80))} is not a ws:// or wss:// URL`)
  }
  return { iceServers, signalingUrls: signalingUrls.filter((url) => signalingUrlPattern.test(url)).slice(0, 15) }
}
