// A Node peer of a room, as the gateway is one (src/relay/gateway/room-peer.ts): y-webrtc over
// @roamhq/wrtc. The fuzzer uses its WebRTC link to the gateway to send what it likes.
import { WebrtcProvider, type WebrtcConn } from 'y-webrtc'
import * as Y from 'yjs'
import { loadWebrtc } from '../../../src/relay/gateway/node-webrtc'

export interface NodePeer {
  provider: WebrtcProvider
  /** The connected link to `remotePeerId` (any connected link when null), once there is one. */
  link(remotePeerId: string | null, timeoutMs: number): Promise<WebrtcConn>
  close(): void
}

export async function joinAsNodePeer(room: string, key: string | null, signalingUrl: string): Promise<NodePeer> {
  const wrtc = await loadWebrtc()
  const doc = new Y.Doc()
  const provider = new WebrtcProvider(room, doc, {
    signaling: [signalingUrl],
    ...(key === null ? {} : { password: key }),
    peerOpts: { wrtc, config: { iceServers: [] } },
  })
  let closed = false
  return {
    provider,
    async link(remotePeerId, timeoutMs) {
      const deadlineMs = Date.now() + timeoutMs
      for (;;) {
        for (const conn of provider.room?.webrtcConns.values() ?? []) {
          if (conn.connected && (remotePeerId === null || conn.remotePeerId === remotePeerId)) return conn
        }
        if (Date.now() > deadlineMs) throw new Error(`no WebRTC link in room ${room} within ${timeoutMs} ms`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    close() {
      if (closed) return
      closed = true
      provider.disconnect()
      provider.destroy()
      doc.destroy()
    },
  }
}
