// A hostile member of a room for the e2e tests: a Node program with the room key that joins
// through the relay's /signal with stock y-webrtc (and @roamhq/wrtc), reads the shared doc and
// attacks every task of the market as soon as it appears, as a member who read our source would
// (hostile-market.ts): it hangs tasks (lowest bids, then lease renewals and no answer), injects
// text (output batches and results nobody honest signed), griefs (unsigned status, forged close,
// cancel, award, failure, lapse) and deletes tasks; and it poses in the awareness as the honest
// executor and as fake ready peers (hostile-presence.ts). It keeps count of every attack made.
import { WebrtcProvider } from 'y-webrtc'
import * as Y from 'yjs'
import { loadWebrtc } from '../../../src/relay/gateway/node-webrtc'
import { PROTOCOL_VERSION, type Presence } from '../../../src/shared/protocol'
import { roomIdOf } from '../../../src/shared/room-id'
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../../src/shared/sign'
import { PresenceTracker } from '../../../src/market/presence/tracker'
import { attacks, MarketAttacker, opportunistic, type Attack, type MarketSeen } from './hostile-market'
import { FakePresences, type Target } from './hostile-presence'

export { attacks, opportunistic, type Attack } from './hostile-market'

export interface HostileLog extends MarketSeen {
  nodeId: string
  counts: Record<Attack, number>
  errors: string[]
}

export interface HostileOptions {
  room: string
  key: string | null
  signalingUrl: string
}

const fakeEveryMs = 1_000
const fakeReadyCount = 12

export class HostilePeer {
  readonly nodeId: string
  readonly roomId: string
  readonly #signer: Signer
  readonly #doc = new Y.Doc()
  readonly #provider: WebrtcProvider
  readonly #presence: PresenceTracker
  readonly #market: MarketAttacker
  readonly #fakes: FakePresences
  readonly #fakeTimer: ReturnType<typeof setInterval>
  readonly #counts = Object.fromEntries([...Object.values(attacks).flat(), ...opportunistic].map((name) => [name, 0])) as Record<Attack, number>
  readonly #errors: string[] = []
  #target: Target | null = null
  #closed = false

  private constructor(options: HostileOptions, signer: Signer, roomId: string, wrtc: unknown, fakeKeys: Signer[]) {
    this.#signer = signer
    this.nodeId = signer.nodeId
    this.roomId = roomId
    this.#provider = new WebrtcProvider(options.room, this.#doc, {
      signaling: [options.signalingUrl],
      ...(options.key === null ? {} : { password: options.key }),
      peerOpts: { wrtc, config: { iceServers: [] } },
    })
    this.#presence = new PresenceTracker(this.#provider.awareness, this.#ownPresence(), {
      heartbeatMs: 1_000,
      peerTimeoutMs: 15_000,
      signer,
      roomId,
      onError: (error) => this.#error(error),
    })
    this.#provider.on('peers', ({ webrtcPeers }: { webrtcPeers: string[] }) => {
      this.#presence.update({ linkId: this.#provider.room?.peerId ?? '', links: [...webrtcPeers].sort().slice(0, 256) })
    })
    const count = (attack: Attack, by = 1): void => {
      this.#counts[attack] += by
    }
    this.#market = new MarketAttacker({ doc: this.#doc, signer, roomId, target: () => this.#target, count, onError: (error) => this.#error(error) })
    this.#fakes = new FakePresences({
      awareness: this.#provider.awareness,
      own: () => this.#ownPresence(),
      target: () => this.#target,
      identities: fakeKeys.map(({ nodeId, publicKey }) => ({ nodeId, publicKey })),
      readyCount: fakeReadyCount,
      published: count,
      onError: (error) => this.#error(error),
    })
    this.#fakeTimer = setInterval(() => this.#fakes.publish(), fakeEveryMs)
  }

  /** Joins the room with a fresh identity of its own. */
  static async start(options: HostileOptions): Promise<HostilePeer> {
    const [wrtc, signer, roomId] = await Promise.all([loadWebrtc(), generateKeyPair(false).then(signerFromKeyPair), roomIdOf(options.room, options.key)])
    const fakeKeys = await Promise.all(Array.from({ length: fakeReadyCount / 2 }, () => generateKeyPair(false).then(signerFromKeyPair)))
    return new HostilePeer(options, signer, roomId, wrtc, fakeKeys)
  }

  /** The honest executor to pose as (presence) and to frame (results, failures under its name). */
  target(nodeId: string): void {
    this.#target = { nodeId, publicKey: this.#target?.nodeId === nodeId ? this.#target.publicKey : null }
  }

  /** Deletes the next `times` tasks whose request contains `marker`, shortly after each appears. */
  deleteMatching(marker: string, times: number): void {
    this.#market.deleteMatching(marker, times)
  }

  webrtcPeers(): number {
    return this.#provider.room?.webrtcConns.size ?? 0
  }

  log(): HostileLog {
    return { nodeId: this.nodeId, ...this.#market.seen(), counts: { ...this.#counts }, errors: [...this.#errors] }
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#fakeTimer)
    this.#market.stop()
    this.#fakes.stop()
    this.#presence.stop()
    this.#provider.disconnect()
    this.#provider.destroy()
    this.#doc.destroy()
  }

  #ownPresence(): Presence {
    return {
      proto: PROTOCOL_VERSION,
      nodeId: this.#signer.nodeId,
      publicKey: this.#signer.publicKey,
      caps: { webgpu: false, shaderF16: false, cores: 16, userAgent: 'hostile-test-peer' },
      status: 'online',
      visible: true,
      heartbeat: 0,
      linkId: this.#provider.room?.peerId ?? '',
      links: [],
      joinedAt: Date.now(),
      serve: 'always',
      engine: { kind: 'wasm', modelId: 'tiny-qwen3.gguf', state: 'ready', prefillTokensPerS: 20_000, decodeTokensPerS: 900 },
      queue: 0,
    }
  }

  #error(error: unknown): void {
    if (this.#errors.length < 50) this.#errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
  }
}
