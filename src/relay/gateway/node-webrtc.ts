// What y-webrtc needs to run in Node: a WebRTC implementation for simple-peer (@roamhq/wrtc,
// prebuilt native binaries) and a global WebSocket for lib0's signaling client (Node 20 has
// none without a flag). Loaded only when the relay joins rooms.
import { registerError } from '../../shared/errors'
import { WebSocket as NodeWebSocket } from 'ws'

/** The part of a WebRTC implementation simple-peer's `wrtc` option uses. */
export interface Wrtc {
  RTCPeerConnection: unknown
  RTCSessionDescription: unknown
  RTCIceCandidate: unknown
}

export class WebrtcUnavailableError extends Error {
  static {
    registerError((message) => new this(message))
  }
  override readonly name = 'WebrtcUnavailableError'
}

let loaded: Promise<Wrtc> | undefined

/**
 * ws's WebSocket, except that a throwing message listener does not escape into the socket's
 * data event (where it would end the process): lib0's signaling client parses every frame with
 * JSON.parse in its `onmessage`, and a signaling server other than this relay may send anything.
 * ws's `onmessage` setter registers through `addEventListener`, so this covers both.
 */
export class GuardedWebSocket extends NodeWebSocket {
  override addEventListener<K extends keyof NodeWebSocket.WebSocketEventMap>(
    type: K,
    listener: ((event: NodeWebSocket.WebSocketEventMap[K]) => void) | { handleEvent(event: NodeWebSocket.WebSocketEventMap[K]): void },
    options?: NodeWebSocket.EventListenerOptions,
  ): void {
    if (type !== 'message') {
      super.addEventListener(type, listener, options)
      return
    }
    const guarded = (event: NodeWebSocket.WebSocketEventMap[K]): void => {
      try {
        if (typeof listener === 'function') listener.call(this, event)
        else listener.handleEvent(event)
      } catch {
        // A frame the client could not read is dropped, as the relay's own hub would drop it.
      }
    }
    super.addEventListener(type, guarded, options)
  }
}

/** Loads @roamhq/wrtc once and makes sure `globalThis.WebSocket` exists. */
export function loadWebrtc(): Promise<Wrtc> {
  loaded ??= (async () => {
    if (typeof globalThis.WebSocket === 'undefined') {
      // ws implements the browser's WebSocket API lib0 uses (binaryType, onmessage, close).
      Object.defineProperty(globalThis, 'WebSocket', { value: GuardedWebSocket, configurable: true, writable: true })
    }
    try {
      const module = (await import('@roamhq/wrtc')) as { default?: Wrtc } & Partial<Wrtc>
      const wrtc = module.default ?? module
      if (typeof wrtc.RTCPeerConnection !== 'function') throw new Error('RTCPeerConnection missing')
      return { RTCPeerConnection: wrtc.RTCPeerConnection, RTCSessionDescription: wrtc.RTCSessionDescription, RTCIceCandidate: wrtc.RTCIceCandidate }
    } catch (error) {
      throw new WebrtcUnavailableError(
        `WebRTC for Node (@roamhq/wrtc) could not be loaded: ${(error as Error).message}; run npm install on a supported platform (linux/darwin x64 or arm64, win32 x64)`,
        { cause: error },
      )
    }
  })()
  loaded.catch(() => (loaded = undefined))
  return loaded
}
