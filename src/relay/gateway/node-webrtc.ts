// What y-webrtc needs to run in Node: a WebRTC implementation for simple-peer (@roamhq/wrtc,
// prebuilt native binaries) and a global WebSocket for lib0's signaling client (Node 20 has
// none without a flag). Loaded only when the relay joins rooms.
import { WebSocket as NodeWebSocket } from 'ws'

/** The part of a WebRTC implementation simple-peer's `wrtc` option uses. */
export interface Wrtc {
  RTCPeerConnection: unknown
  RTCSessionDescription: unknown
  RTCIceCandidate: unknown
}

export class WebrtcUnavailableError extends Error {
  override readonly name = 'WebrtcUnavailableError'
}

let loaded: Promise<Wrtc> | undefined

/** Loads @roamhq/wrtc once and makes sure `globalThis.WebSocket` exists. */
export function loadWebrtc(): Promise<Wrtc> {
  loaded ??= (async () => {
    if (typeof globalThis.WebSocket === 'undefined') {
      // ws implements the browser's WebSocket API lib0 uses (binaryType, onmessage, close).
      Object.defineProperty(globalThis, 'WebSocket', { value: NodeWebSocket, configurable: true, writable: true })
    }
    try {
      const module = (await import('@roamhq/wrtc')) as { default?: Wrtc } & Partial<Wrtc>
      const wrtc = module.default ?? module
      if (typeof wrtc.RTCPeerConnection !== 'function') throw new Error('RTCPeerConnection missing')
      return { RTCPeerConnection: wrtc.RTCPeerConnection, RTCSessionDescription: wrtc.RTCSessionDescription, RTCIceCandidate: wrtc.RTCIceCandidate }
    } catch (error) {
      throw new WebrtcUnavailableError(`WebRTC for Node (@roamhq/wrtc) could not be loaded: ${(error as Error).message}; run npm install on a supported platform (linux/darwin x64 or arm64, win32 x64)`, { cause: error })
    }
  })()
  loaded.catch(() => (loaded = undefined))
  return loaded
}

/**
 * y-webrtc decrypts signaling messages without catching, so a peer of the room with another key
 * rejects a promise nobody handles, which would end the relay process. Such rejections (a
 * DOMException named OperationError) are counted; any other keeps Node's default: a crash.
 */
export function guardUndecryptable(onDropped: () => void): () => void {
  const listener = (reason: unknown): void => {
    if (reason instanceof DOMException && reason.name === 'OperationError') {
      onDropped()
      return
    }
    throw reason
  }
  process.on('unhandledRejection', listener)
  return () => process.off('unhandledRejection', listener)
}
