import * as v from 'valibot'
import type { MessageEndpoint } from './rpc'

/**
 * Addressing over one BroadcastChannel: every message says who it is from and to whom, so
 * the host tab can answer each tab on its own virtual endpoint.
 */
export const hostAddress = 'host'

const TabEnvelope = v.object({ from: v.string(), to: v.string(), body: v.unknown() })
type TabEnvelope = v.InferOutput<typeof TabEnvelope>

export type HostSignal = { kind: 'host-ready'; hostId: string } | { kind: 'host?' }

const HostSignalSchema = v.union([v.object({ kind: v.literal('host-ready'), hostId: v.string() }), v.object({ kind: v.literal('host?') })])

export function isHostSignal(body: unknown): body is HostSignal {
  return v.is(HostSignalSchema, body)
}

/** The endpoint one address sees: it sends to `peer` and receives what is sent to `self`. */
export function tabEndpoint(channel: BroadcastChannel, self: string, peer: string): MessageEndpoint & { close(): void } {
  const listeners = new Map<(event: MessageEvent) => void, (event: MessageEvent) => void>()
  return {
    postMessage: (message) => channel.postMessage({ from: self, to: peer, body: message } satisfies TabEnvelope),
    addEventListener: (_type, listener) => {
      const filtered = (event: MessageEvent): void => {
        const data: unknown = event.data
        if (!v.is(TabEnvelope, data) || data.to !== self || data.from !== peer) return
        listener(new MessageEvent('message', { data: data.body }))
      }
      listeners.set(listener, filtered)
      channel.addEventListener('message', filtered)
    },
    removeEventListener: (_type, listener) => {
      const filtered = listeners.get(listener)
      if (filtered) channel.removeEventListener('message', filtered)
      listeners.delete(listener)
    },
    close: () => {
      for (const filtered of listeners.values()) channel.removeEventListener('message', filtered)
      listeners.clear()
    },
  }
}

/** Calls `onClient` once for every tab that writes to the host, with that tab's address. */
export function onNewClient(channel: BroadcastChannel, onClient: (clientId: string) => void): () => void {
  const known = new Set<string>()
  const listener = (event: MessageEvent): void => {
    const data: unknown = event.data
    if (!v.is(TabEnvelope, data) || data.to !== hostAddress || known.has(data.from)) return
    if (isHostSignal(data.body)) return
    known.add(data.from)
    onClient(data.from)
    // Replay the first message to the endpoint that was just made for this client.
    channel.dispatchEvent(new MessageEvent('message', { data }))
  }
  channel.addEventListener('message', listener)
  return () => channel.removeEventListener('message', listener)
}
