import * as v from 'valibot'
import { buildLabel } from '../shared/build'
import type { MessageEndpoint, MessageLike } from '../shared/rpc'

/**
 * Addressing over one BroadcastChannel shared by the tabs of a profile: every message says its
 * protocol version, the app build that sent it, who it is from and to whom, so the host tab
 * answers each tab on its own virtual endpoint. A message of another version (a tab of an
 * older or newer build still open) is ignored, by hosts and clients alike, except for the
 * handshake: the envelope and the bodies `hello` (a tab asks who hosts) and `host-here` (the
 * host answers it, in its own version) keep their shape in every version from 3 on, so a tab
 * learns that the model runs in a tab it cannot share with, and which build that tab runs.
 * Version 2 tabs do not answer; the shared engine finds them by their lock.
 */
export const tabProtocolVersion = 3
export const hostAddress = 'host'
const everyone = '*'
const maxClients = 64

const Address = v.pipe(v.string(), v.minLength(1), v.maxLength(64))
const Build = v.pipe(v.string(), v.maxLength(80))
const TabMessage = v.object({ protocol: v.literal('edgeswarm-tab'), version: v.number(), build: v.optional(Build), from: Address, to: Address, body: v.unknown() })
type TabMessage = v.InferOutput<typeof TabMessage>
const HostReady = v.object({ kind: v.literal('host-ready') })
const Hello = v.object({ kind: v.literal('hello') })
const HostHere = v.object({ kind: v.literal('host-here') })

/** What a BroadcastChannel offers (typed by what we use, so the module needs no DOM library). */
export type ChannelLike = MessageEndpoint

function message(from: string, to: string, body: unknown): TabMessage {
  return { protocol: 'edgeswarm-tab', version: tabProtocolVersion, build: buildLabel(), from, to, body }
}

/** A well-formed envelope of any version, or null. */
function readEnvelope(data: unknown): TabMessage | null {
  const parsed = v.safeParse(TabMessage, data)
  return parsed.success ? parsed.output : null
}

/** The message of our protocol and version, or null for anything else (dropped, never thrown). */
export function readTabMessage(data: unknown): TabMessage | null {
  const envelope = readEnvelope(data)
  return envelope?.version === tabProtocolVersion ? envelope : null
}

/** The endpoint one address sees: it sends to `peer` and receives what `peer` sends to `self`. */
export function tabEndpoint(channel: ChannelLike, self: string, peer: string): MessageEndpoint & { close(): void } {
  const listeners = new Map<(event: MessageLike) => void, (event: MessageLike) => void>()
  return {
    postMessage: (body) => channel.postMessage(message(self, peer, body)),
    addEventListener: (_type, listener) => {
      const filtered = (event: MessageLike): void => {
        const data = readTabMessage(event.data)
        if (data?.to === self && data.from === peer) listener({ data: data.body })
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

/**
 * The host's side: one endpoint per tab that writes to the host address, made on its first
 * message; `onClient` serves it and returns how to stop. Returns a function that stops all.
 */
export function serveTabs(channel: ChannelLike, onClient: (endpoint: MessageEndpoint) => () => void): () => void {
  const clients = new Map<string, { listeners: Set<(event: MessageLike) => void>; stop: () => void }>()
  const listener = (event: MessageLike): void => {
    const data = readTabMessage(event.data)
    if (data?.to !== hostAddress || data.from === hostAddress || data.from === everyone) return
    let client = clients.get(data.from)
    if (!client) {
      if (clients.size >= maxClients) return
      const listeners = new Set<(event: MessageLike) => void>()
      const from = data.from
      const endpoint: MessageEndpoint = {
        postMessage: (body) => channel.postMessage(message(hostAddress, from, body)),
        addEventListener: (_type, added) => listeners.add(added),
        removeEventListener: (_type, removed) => listeners.delete(removed),
      }
      client = { listeners, stop: () => undefined }
      clients.set(from, client)
      client.stop = onClient(endpoint)
    }
    for (const deliver of client.listeners) deliver({ data: data.body })
  }
  channel.addEventListener('message', listener)
  return () => {
    channel.removeEventListener('message', listener)
    for (const client of clients.values()) client.stop()
    clients.clear()
  }
}

/** A tab that has just become the host says so: the others drop what they had pending and ask it anew. */
export function announceHost(channel: ChannelLike, hostId: string): void {
  channel.postMessage(message(hostId, everyone, { kind: 'host-ready' }))
}

/** Calls `onHost` with the id of every tab that announces it is the host now. */
export function onHostAnnounced(channel: ChannelLike, onHost: (hostId: string) => void): () => void {
  const listener = (event: MessageLike): void => {
    const data = readTabMessage(event.data)
    if (data?.to === everyone && v.is(HostReady, data.body)) onHost(data.from)
  }
  channel.addEventListener('message', listener)
  return () => channel.removeEventListener('message', listener)
}

/** A tab that hosts the model: its tab protocol version and app build (null where it did not say). */
export interface HostTab {
  hostId: string
  version: number
  build: string | null
}

/**
 * The host's side of the handshake: answers every tab's `hello`, of any version, with
 * `host-here` in this tab's own version, so that a tab of another build can tell it cannot share.
 */
export function answerHellos(channel: ChannelLike, hostId: string): () => void {
  const listener = (event: MessageLike): void => {
    const data = readEnvelope(event.data)
    if (data?.to === everyone && data.from !== hostId && v.is(Hello, data.body)) channel.postMessage(message(hostId, data.from, { kind: 'host-here' }))
  }
  channel.addEventListener('message', listener)
  return () => channel.removeEventListener('message', listener)
}

/** Asks who hosts, as `self`; resolves after `waitMs` with every host that answered, of any version. */
export function askForHosts(channel: ChannelLike, self: string, waitMs = 300): Promise<HostTab[]> {
  const hosts = new Map<string, HostTab>()
  const listener = (event: MessageLike): void => {
    const data = readEnvelope(event.data)
    if (data?.to === self && v.is(HostHere, data.body)) hosts.set(data.from, { hostId: data.from, version: data.version, build: data.build ?? null })
  }
  channel.addEventListener('message', listener)
  channel.postMessage(message(self, everyone, { kind: 'hello' }))
  return new Promise((resolve) =>
    setTimeout(() => {
      channel.removeEventListener('message', listener)
      resolve([...hosts.values()])
    }, waitMs),
  )
}
