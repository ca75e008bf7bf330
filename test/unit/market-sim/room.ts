import * as Y from 'yjs'
import type { Engine } from '../../../src/inference/engine'
import type { Signer } from '../../../src/shared/sign'
import { MarketNode, type MarketNodeOptions } from '../../../src/market/node'
import { statusOf, TaskReader } from '../../../src/market/task-doc'
import type { EmbedderPresence, MarketEmbedder } from '../../../src/market/embed-task'
import type { LivePeer, MarketConfig, Timers } from '../../../src/market/types'
import { SimEngine } from './engine'
import { fixedSigner } from './keys'

/** An embedder as presence shows it. */
const presenceOf = (embedder: MarketEmbedder | null): EmbedderPresence | null => (embedder === null ? null : { modelId: embedder.modelId, dimensions: embedder.dimensions })

export const realTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export interface RoomMember {
  doc: Y.Doc
  signer: Signer
  market: MarketNode
  engine: Engine | null
  errors: unknown[]
}

/** The room id every test room signs for. */
export const testRoomId = 'room-under-test'

/** A task's status as its records say (unverified), or null when the task is gone. */
export function statusIn(doc: Y.Doc, taskId: string): string | null {
  const task = doc.getMap<unknown>('tasks').get(taskId)
  return task instanceof Y.Map ? statusOf(new TaskReader(), task, taskId) : null
}

export const fastConfig: Partial<MarketConfig> = { bidWindowMs: 30, leaseMs: 300, outputBatchMs: 10, noBidTimeoutMs: 2_000, retainMs: 60_000 }

/**
 * Docs that pass every update to each other at once (like memory-store.test's connectedDocs),
 * one MarketNode each on real timers. `engines[i]`: a decode speed, 'faulty', or null.
 */
export async function room(
  engines: (number | 'faulty' | Engine | null)[],
  config = fastConfig,
  firstKey = 100,
  /** More options per member (its serve terms); its presence says the serve mode they give. */
  more: (index: number) => Partial<MarketNodeOptions> = () => ({}),
): Promise<{ members: RoomMember[]; live: Set<string>; strangers: LivePeer[] }> {
  const docs = engines.map(() => new Y.Doc())
  for (const doc of docs)
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      for (const other of docs) if (other !== doc && origin !== other) Y.applyUpdate(other, update, doc)
    })
  const live = new Set<string>()
  const members: RoomMember[] = []
  for (const [index, spec] of engines.entries()) {
    const signer = await fixedSigner(firstKey + index)
    const engine = spec === null ? null : typeof spec === 'object' ? spec : new SimEngine(realTimers, spec === 'faulty' ? 500 : spec, spec === 'faulty')
    const errors: unknown[] = []
    members.push({ doc: docs[index] as Y.Doc, signer, engine, errors, market: null as unknown as MarketNode })
    if (engine) live.add(signer.nodeId)
  }
  /** Peers of the room that are not members here (a hostile test writer), as presence would list them. */
  const strangers: LivePeer[] = []
  const peersOf = (self: string): LivePeer[] => [
    ...strangers,
    ...members
      .filter((member) => member.signer.nodeId !== self && live.has(member.signer.nodeId))
      .map((member): LivePeer => ({
        nodeId: member.signer.nodeId,
        engine: member.engine
          ? { kind: 'wasm', modelId: 'sim', state: 'ready', prefillTokensPerS: 1000, decodeTokensPerS: member.engine.info().decodeTokensPerS, supports: member.engine.info().supports }
          : null,
        queueLength: 0,
        visible: true,
        linkDelayMs: 1,
        serve: more(members.indexOf(member)).serve?.().mode ?? 'always',
        embedder: presenceOf(more(members.indexOf(member)).embedder?.() ?? null),
      })),
  ]
  for (const [index, member] of members.entries()) {
    member.market = new MarketNode({
      ...more(index),
      doc: member.doc,
      signer: member.signer,
      roomId: testRoomId,
      engine: member.engine,
      livePeers: () => peersOf(member.signer.nodeId),
      timers: realTimers,
      config,
      onError: (error) => member.errors.push(error),
    })
  }
  return { members, live, strangers }
}
