import * as v from 'valibot'
import type * as Y from 'yjs'
import { loadNet, saveNet, type StoredNet } from '../../memory/net-store'
import type { LocalDb } from '../../memory/local-db'
import type { Marks } from '../../memory/marks'
import { StorageFullError } from '../../memory/storage-full'
import { OnlineNet } from '../../micronets/learner'
import { shapeOf, type Mlp } from '../../micronets/mlp'
import { initialRouterNet, routerShape, type RouterScorer } from '../../micronets/router'
import { createSpeedNet, initialSpeedNet, SpeedPredictor, type PeerHistoryEntry } from '../../micronets/speed'
import type { Signer } from '../../shared/sign'
import { LearnedNet, type NetPersistence } from './learned-net'
import { LearningRouter } from './router'
import { SharedNets } from './nets'

export const routerOnlineOptions = { loss: 'bce', learningRate: 0.003 } as const
export const speedShape = shapeOf(initialSpeedNet())

export interface LearningOptions {
  doc: Y.Doc
  signer: Signer
  /** The room id (roomIdOf): bound into every contribution signed or accepted. */
  roomId: string
  /** High-water marks of the room's contributions, kept across reloads (the room's); in this page only when left out. */
  marks?: Marks
  /** Where learned weights are kept; null keeps nothing (scripts, tests). */
  db: LocalDb | null
  /** Runs the router's net in the micro-net worker pool; null runs it on this thread. */
  workerScorer: ((net: Mlp) => RouterScorer) | null
  costQuality?: number | undefined
  publishDelayMs?: number
  report: (error: unknown) => void
  /** What the user must be told (storage full: learning not kept on this device); `report` when left out. */
  notify?: (error: unknown) => void
}

const defaultPublishDelayMs = 2_000

interface Restored {
  router: StoredNet | null
  speed: StoredNet | null
}

const PeersSchema = v.array(v.object({ peerId: v.pipe(v.string(), v.maxLength(64)), meanLogRatio: v.pipe(v.number(), v.finite()), count: v.pipe(v.number(), v.integer(), v.minValue(0)) }))

function persistence(db: LocalDb | null, notify: (error: unknown) => void, extra?: () => unknown): NetPersistence | null {
  if (!db) return null
  return {
    save: (online, unpublished) =>
      saveNet(db, online.name, online.snapshot(), unpublished, extra?.()).catch((error: unknown) => {
        // The learning stays in the page and the next save tries again; the user hears it once here.
        if (!(error instanceof StorageFullError)) throw error
        notify(error)
      }),
  }
}

/**
 * A node's micro-nets and what they learn: the router (where a chat runs) and the speed
 * predictor (how long a peer takes), each learning here, kept in IndexedDB and pooled with the
 * room through the signed `nets` map.
 */
export class Learning {
  readonly shared: SharedNets
  readonly router: LearningRouter
  readonly routerNet: LearnedNet
  readonly speed: SpeedPredictor
  readonly speedNet: LearnedNet

  private constructor(options: LearningOptions, restored: Restored) {
    const { report, db } = options
    const publishDelayMs = options.publishDelayMs ?? defaultPublishDelayMs
    const notify = options.notify ?? report
    this.shared = new SharedNets(options.doc, options.signer, options.roomId, { router: routerShape, speed: speedShape }, report, options.marks ? { marks: options.marks } : {})
    this.routerNet = new LearnedNet({
      online: new OnlineNet('router', initialRouterNet(), routerOnlineOptions, restored.router?.snapshot),
      shared: this.shared,
      persistence: persistence(db, notify),
      publishDelayMs,
      unpublished: restored.router?.unpublished === true,
      report,
    })
    const peers = v.safeParse(PeersSchema, restored.speed?.extra)
    let speed: SpeedPredictor | null = null
    this.speedNet = new LearnedNet({
      online: createSpeedNet(restored.speed?.snapshot),
      shared: this.shared,
      persistence: persistence(db, notify, () => speed?.peersSnapshot()),
      publishDelayMs,
      unpublished: restored.speed?.unpublished === true,
      report,
    })
    speed = new SpeedPredictor({ net: this.speedNet.online, ...(peers.success ? { peers: peers.output satisfies PeerHistoryEntry[] } : {}), onObserve: () => this.speedNet.learned() })
    this.speed = speed
    this.router = new LearningRouter(this.routerNet, { workerScorer: options.workerScorer, ...(options.costQuality === undefined ? {} : { costQuality: options.costQuality }), report })
  }

  static async open(options: LearningOptions): Promise<Learning> {
    const load = async (name: string, shape: string): Promise<StoredNet | null> => (options.db ? loadNet(options.db, name, shape).catch(() => null) : null)
    return new Learning(options, { router: await load('router', routerShape), speed: await load('speed', speedShape) })
  }

  /** Publishes learning not yet published (before the page goes away). */
  async flush(): Promise<void> {
    await Promise.all([this.routerNet.flush(), this.speedNet.flush()])
  }

  stop(): void {
    this.routerNet.stop()
    this.speedNet.stop()
    this.shared.stop()
  }
}
