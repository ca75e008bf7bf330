// The in-process half of the market bench: award latency, doc traffic per task and doc growth,
// measured on real MarketNodes whose docs are linked directly (see market-room.ts).
import { inspect } from 'node:util'
import * as Y from 'yjs'
import { awardSeen, openBenchRoom, type BenchRoom, type MarketClass } from './market-room'

/** One-way delay of every link: a WebRTC data channel between machines on one network. */
export const linkDelayMs = 20
/** A small model in WASM or WebGPU on a laptop. */
export const decodeTokensPerS = 50
const awardTimeoutMs = 30_000

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface TaskLatencies {
  awardMs: number[]
  firstTokenMs: number[]
}

/**
 * Posts `tasks` tasks one after the other (plus one warm-up) and times post → award (the
 * poster's doc holds the award) and post → first text event. Each task is cancelled at its
 * first token: the rest of the answer changes neither figure, and the section stays short.
 */
export async function inProcessLatency(workers: number, tasks: number, maxTokens: number, Market?: MarketClass): Promise<TaskLatencies> {
  const room = await openBenchRoom({ workers, linkDelayMs, decodeTokensPerS, ...(Market ? { Market } : {}) })
  const latencies: TaskLatencies = { awardMs: [], firstTokenMs: [] }
  try {
    for (let i = 0; i <= tasks; i++) {
      const startedMs = performance.now()
      const handle = room.poster.submit({ messages: [{ role: 'user', content: `Question ${i}: in one sentence, what does a swarm do?` }], max_tokens: maxTokens })
      const award = awardSeen(room.posterDoc, handle.id, startedMs, awardTimeoutMs)
      let firstTokenMs = Number.NaN
      for await (const event of handle.chunks) {
        if (event.type === 'text') {
          firstTokenMs = performance.now() - startedMs
          break
        }
      }
      handle.cancel()
      const awardMs = await award
      if (i > 0) {
        latencies.awardMs.push(awardMs)
        latencies.firstTokenMs.push(firstTokenMs)
      }
      // Lets the executor see the cancel and free its slot before the next post.
      await pause(150)
    }
    throwIfErrors(room)
    return latencies
  } finally {
    room.close()
  }
}

export interface TaskTraffic {
  outputTokens: number
  textChars: number
  updates: number
  bytes: number
  /** What the room wrote in the `tailMs` after done (the executor holds its lease a while). */
  tail: { updates: number; bytes: number; ms: number } | null
}

/** Runs one task of `outputTokens` tokens in a room of a poster and three workers; counts its updates. */
export async function taskTraffic(outputTokens: number, tailMs: number): Promise<TaskTraffic> {
  const room = await openBenchRoom({ workers: 3, linkDelayMs, decodeTokensPerS })
  try {
    const handle = room.poster.submit({ messages: [{ role: 'user', content: 'Tell me a long story about a swarm of bees that learned to share one memory.' }], max_tokens: outputTokens })
    const result = await handle.result
    const atDone = { ...room.traffic }
    let tail: TaskTraffic['tail'] = null
    if (tailMs > 0) {
      await pause(tailMs)
      tail = { updates: room.traffic.updates - atDone.updates, bytes: room.traffic.bytes - atDone.bytes, ms: tailMs }
    }
    throwIfErrors(room)
    return { outputTokens: result.usage?.completion_tokens ?? 0, textChars: result.text.length, updates: atDone.updates, bytes: atDone.bytes, tail }
  } finally {
    room.close()
  }
}

export interface GrowthPoint {
  label: string
  tasksPosted: number
  tasksInDoc: number
  logEntries: number
  stateBytes: number
}

/**
 * Rounds of `perRound` tasks posted at once, with a short `retainMs` and a small `maxLog`: the
 * doc's full state (encodeStateAsUpdate) when a round is done and again once its tasks are gone.
 */
export async function docGrowth(rounds: number, perRound: number, retainMs: number, maxLog: number): Promise<GrowthPoint[]> {
  const room = await openBenchRoom({ workers: 3, linkDelayMs, decodeTokensPerS, config: { retainMs, maxLog } })
  const tasks = room.posterDoc.getMap<unknown>('tasks')
  const points: GrowthPoint[] = []
  let posted = 0
  const point = (label: string): GrowthPoint => ({
    label,
    tasksPosted: posted,
    tasksInDoc: tasks.size,
    logEntries: room.posterDoc.getArray('log').length,
    stateBytes: Y.encodeStateAsUpdate(room.posterDoc).byteLength,
  })
  try {
    for (let round = 1; round <= rounds; round++) {
      const handles = Array.from({ length: perRound }, (_, k) => room.poster.submit({ messages: [{ role: 'user', content: `Round ${round}, question ${k}: name one insect.` }], max_tokens: 16 }))
      posted += perRound
      await Promise.all(handles.map((handle) => handle.result))
      points.push(point(`round ${round} done`))
      const deadline = performance.now() + retainMs + 10_000
      while (tasks.size > 0 && performance.now() < deadline) await pause(100)
      // The removals reach the workers a link delay later; their last writes come back after.
      await pause(4 * linkDelayMs)
      points.push(point(`round ${round} + retainMs`))
    }
    throwIfErrors(room)
    return points
  } finally {
    room.close()
  }
}

function throwIfErrors(room: BenchRoom): void {
  const [first] = room.errors
  if (first !== undefined) throw new Error(`market reported ${room.errors.length} error(s), the first: ${first instanceof Error ? first.message : inspect(first)}`)
}
