// GET /net.json: the ICE servers and signaling URLs a page uses for its room.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { rejectUnlessGetOrHead, sendJson } from '../http-response'
import type { NetConfig } from '../../shared/net-config'
import type { NetConfigSettings } from './config'

/** The relay's own signaling URL as the page that asked reaches it. */
export function ownSignalingUrl(req: IncomingMessage): string {
  const forwardedProto = req.headers['x-forwarded-proto']
  const secure = (Array.isArray(forwardedProto) ? forwardedProto[0] : forwardedProto)?.split(',')[0]?.trim() === 'https'
  return `${secure ? 'wss' : 'ws'}://${req.headers.host ?? 'localhost'}/signal`
}

/** What /net.json answers for `req`: the relay's own signaling URL first, then the others. */
export function netConfigFor(req: IncomingMessage, settings: NetConfigSettings): NetConfig {
  const own = ownSignalingUrl(req)
  const signalingUrls = [own, ...settings.signalingUrls.filter((url) => url !== own)]
  const turn = settings.iceServers.some((server) => (Array.isArray(server.urls) ? server.urls : [server.urls]).some((url) => url.startsWith('turn')))
  return { v: 1, iceServers: [...settings.iceServers], expiresAt: null, turn, signalingUrls }
}

export function handleNetConfig(req: IncomingMessage, res: ServerResponse, settings: NetConfigSettings): void {
  if (rejectUnlessGetOrHead(req, res)) return
  sendJson(req, res, 200, netConfigFor(req, settings))
}
