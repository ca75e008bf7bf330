import * as v from 'valibot'
import type { OnlineNetSnapshot } from '../micronets/learner'
import { deserializeMlp, serializeMlp } from '../micronets/serialize'
import type { LocalDb } from './local-db'
import { savingOrSay, type FullStreak } from './storage-full'

const maxReplay = 1_024
const maxHistory = 1_024

const Finite = v.pipe(v.number(), v.finite())
const StoredNetSchema = v.object({
  version: v.literal(1),
  net: v.unknown(),
  samples: v.pipe(v.number(), v.integer(), v.minValue(0)),
  replay: v.pipe(v.array(v.object({ input: v.array(Finite), target: v.array(Finite), weight: v.optional(Finite) })), v.maxLength(maxReplay)),
  history: v.pipe(v.array(v.object({ at: Finite, loss: Finite, samples: Finite })), v.maxLength(maxHistory)),
  /** Learning the room has not been sent yet: published as soon as the node is back. */
  unpublished: v.optional(v.boolean()),
  /** Whatever else the net's owner keeps beside it (the speed predictor's per-peer history). */
  extra: v.optional(v.unknown()),
})

export interface StoredNet {
  snapshot: OnlineNetSnapshot
  unpublished: boolean
  extra?: unknown
}

/**
 * A micro-net's learned state as this profile last saved it, or null when there is none or it
 * does not fit `shape` (an app update changed the net: it starts again from its initial weights).
 */
export async function loadNet(db: LocalDb, name: string, shape: string): Promise<StoredNet | null> {
  const parsed = v.safeParse(StoredNetSchema, await db.get('nets', name))
  if (!parsed.success) return null
  try {
    const { samples, replay, history, extra, unpublished = false } = parsed.output
    const net = deserializeMlp(parsed.output.net, shape)
    const fitting = replay.filter(({ input }) => input.length === net.inputs)
    const snapshot: OnlineNetSnapshot = { net, samples, replay: fitting.map(({ input, target, weight }) => (weight === undefined ? { input, target } : { input, target, weight })), history }
    return extra === undefined ? { snapshot, unpublished } : { snapshot, unpublished, extra }
  } catch {
    return null
  }
}

const streaks = new Map<string, FullStreak>()

/**
 * Keeps a net's learned state. When the browser's storage is full it fails with a
 * StorageFullError, once until a save of that net works again (nets save on every lesson).
 */
export async function saveNet(db: LocalDb, name: string, snapshot: OnlineNetSnapshot, unpublished: boolean, extra?: unknown): Promise<void> {
  const value = {
    version: 1,
    unpublished,
    net: serializeMlp(snapshot.net),
    samples: snapshot.samples,
    replay: snapshot.replay
      .slice(-maxReplay)
      .map((sample) => ({ input: Array.from(sample.input), target: Array.from(sample.target), ...(sample.weight === undefined ? {} : { weight: sample.weight }) })),
    history: snapshot.history.slice(-maxHistory),
    ...(extra === undefined ? {} : { extra }),
  }
  let streak = streaks.get(name)
  if (!streak) streaks.set(name, (streak = { full: false }))
  await savingOrSay(`what the ${name} micro-net learned`, () => db.put('nets', value, name), { kept: 'it keeps learning in this tab', streak })
}
