// The hostile peer's extra awareness states: the honest executor's state replayed under another
// awareness client, the same with its engine "failed" (an edit of a signed state), and fake
// ready peers (some with a node id that is the hash of a real key, none signed). Each is put
// into the hostile's own awareness as another client's state, so y-webrtc sends it to every
// peer like any relayed state, and refreshed every second so that it stays live.
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import * as Y from 'yjs'
import { toBase64Url } from '../../../src/shared/encoding'
import type { Presence } from '../../../src/shared/protocol'

export type FakeKind = 'spoof' | 'fake-ready'

/** The node to pose as; its public key once its state was seen. */
export interface Target {
  nodeId: string
  publicKey: string | null
}

type Fields = Record<string, unknown>

interface Fake {
  kind: FakeKind
  doc: Y.Doc
  awareness: Awareness
  state: () => Fields | null
}

export const randomKey = (): string => toBase64Url(crypto.getRandomValues(new Uint8Array(32)))
const randomSig = (): string => toBase64Url(crypto.getRandomValues(new Uint8Array(64)))
const randomNodeId = (): string => Array.from(crypto.getRandomValues(new Uint8Array(10)), (byte) => byte.toString(16).padStart(2, '0')).join('')
const record = (value: unknown): Fields | null => (typeof value === 'object' && value !== null ? (value as Fields) : null)

export interface FakePresenceOptions {
  /** The hostile's own awareness, where the fakes go in. */
  awareness: Awareness
  /** The hostile's own presence: what a fake ready peer copies. */
  own: () => Presence
  target: () => Target | null
  /** Identities with a real key for some of the fake ready peers. */
  identities: { nodeId: string; publicKey: string }[]
  readyCount: number
  published: (kind: FakeKind) => void
  onError: (error: unknown) => void
}

export class FakePresences {
  readonly #fakes: Fake[] = []

  constructor(private readonly options: FakePresenceOptions) {
    this.#fakes.push(
      this.#fake('spoof', () => this.#spoof(false)),
      this.#fake('spoof', () => this.#spoof(true)),
    )
    for (let i = 0; i < options.readyCount; i++) {
      const identity = options.identities[i] ?? { nodeId: randomNodeId(), publicKey: randomKey() }
      const linkId = randomNodeId()
      let heartbeat = 0
      this.#fakes.push(this.#fake('fake-ready', () => ({ ...options.own(), nodeId: identity.nodeId, publicKey: identity.publicKey, linkId, heartbeat: heartbeat++, at: Date.now(), sig: randomSig() })))
    }
  }

  /** Puts every fake's next state into the awareness (a heartbeat, for the peers' timeouts). */
  publish(): void {
    for (const fake of this.#fakes) {
      try {
        const state = fake.state()
        if (!state) continue
        this.#put(fake, state)
        this.options.published(fake.kind)
      } catch (error) {
        this.options.onError(error)
      }
    }
  }

  /** Says every fake's goodbye and stops their timers. */
  stop(): void {
    for (const fake of this.#fakes.splice(0)) {
      try {
        this.#put(fake, null)
      } catch (error) {
        this.options.onError(error)
      }
      fake.awareness.destroy()
      fake.doc.destroy()
    }
  }

  #put(fake: Fake, state: Fields | null): void {
    fake.awareness.setLocalState(state)
    applyAwarenessUpdate(this.options.awareness, encodeAwarenessUpdate(fake.awareness, [fake.awareness.clientID]), 'hostile')
  }

  #fake(kind: FakeKind, state: () => Fields | null): Fake {
    const doc = new Y.Doc()
    return { kind, doc, awareness: new Awareness(doc), state }
  }

  /** The target's state as the hostile sees it: replayed as it is, or with its engine "failed". */
  #spoof(replay: boolean): Fields | null {
    const target = this.options.target()
    if (!target) return null
    const fakes = new Set(this.#fakes.map((fake) => fake.awareness.clientID))
    let honest: Fields | null = null
    for (const [clientId, state] of this.options.awareness.getStates()) {
      if (!fakes.has(clientId) && record(state)?.nodeId === target.nodeId) honest = record(state)
    }
    if (honest && typeof honest.publicKey === 'string') target.publicKey = honest.publicKey
    if (replay) return honest && { ...honest }
    const base = honest ?? { ...this.options.own(), nodeId: target.nodeId, publicKey: target.publicKey ?? randomKey() }
    const engine = record(base.engine) ?? {}
    const heartbeat = typeof base.heartbeat === 'number' ? base.heartbeat : 0
    return { ...base, status: 'busy', heartbeat: heartbeat + 1, queue: 1000, engine: { ...engine, state: 'failed', decodeTokensPerS: 0 } }
  }
}
