import * as Y from 'yjs'
import type { SerialWork } from './context'
import { maxEvidence, maxSmallBytes, readValue, VoteSchema, type Result, type Vote } from './schema'
import { evidenceOf, sign, verify, verifyEvidence, type RoomSigner } from './signing'
import { reputationOf } from './vote'

export const maxVotes = 512
const maxVoteBytes = maxSmallBytes * (2 + maxEvidence)

/**
 * The room's signed votes (doc array `ballots`) and the reputation every node derives from
 * them. A vote counts only when its poster signed it and every executor it names returned a
 * signed result of that poster's task (the evidence it carries); of one poster's votes about
 * one executor only the latest counts, so a poster cannot drag a peer down by voting often.
 * The newest `maxVotes` count, by position in the array, never by the voter's own timestamps.
 */
export class Votes {
  rejected = 0
  readonly #ballots: Y.Array<unknown>
  /** Verification per stored value: the vote when it counts, false when it does not. */
  readonly #checked = new WeakMap<object, Vote | false>()
  readonly #checking = new WeakSet<object>()
  #reputation = new Map<string, number>()
  readonly #observer = () => this.#checkAll()

  constructor(
    doc: Y.Doc,
    private readonly room: RoomSigner,
    private readonly clock: () => number,
    private readonly work: () => SerialWork,
  ) {
    this.#ballots = doc.getArray('ballots')
  }

  start(): void {
    this.#ballots.observe(this.#observer)
    this.#checkAll()
  }

  stop(): void {
    this.#ballots.unobserve(this.#observer)
  }

  /** 1 for a node never outvoted, lower the more it lost. */
  reputation(nodeId: string): number {
    return this.#reputation.get(nodeId) ?? 1
  }

  #newest(): unknown[] {
    const length = this.#ballots.length
    return this.#ballots.slice(Math.max(0, length - maxVotes), length)
  }

  #checkAll(): void {
    let pending = false
    for (const value of this.#newest()) {
      if (typeof value !== 'object' || value === null) {
        this.rejected++
        continue
      }
      if (this.#checked.has(value) || this.#checking.has(value)) continue
      this.#checking.add(value)
      pending = true
      this.work().run(async () => {
        const vote = await this.#verify(value)
        if (!vote) this.rejected++
        this.#checked.set(value, vote)
      })
    }
    if (pending) this.work().run(() => this.#recompute())
    else this.#recompute()
  }

  async #verify(value: object): Promise<Vote | false> {
    const vote = readValue(VoteSchema, value, maxVoteBytes)
    if (!vote) return false
    const { roomId, verdicts } = this.room
    if (!(await verify('vote', vote, vote.publicKey, vote.poster, roomId, verdicts))) return false
    const answered = new Set<string>()
    for (const evidence of vote.evidence) {
      if (!(await verifyEvidence(evidence, vote.poster, roomId, verdicts))) return false
      answered.add(evidence.executor)
    }
    const named = [...vote.winners, ...vote.outvoted]
    return named.length > 0 && named.every((nodeId) => answered.has(nodeId)) ? vote : false
  }

  #recompute(): void {
    const latest = new Map<string, { winners: string[]; outvoted: string[] }>()
    for (const value of this.#newest()) {
      const vote = typeof value === 'object' && value !== null ? this.#checked.get(value) : undefined
      if (!vote) continue
      for (const nodeId of vote.winners) latest.set(`${vote.poster} ${nodeId}`, { winners: [nodeId], outvoted: [] })
      for (const nodeId of vote.outvoted) latest.set(`${vote.poster} ${nodeId}`, { winners: [], outvoted: [nodeId] })
    }
    this.#reputation = reputationOf(latest.values())
  }

  record(jobId: string, results: readonly Result[], winners: string[], outvoted: string[]): void {
    const { signer } = this.room
    this.work().run(async () => {
      const evidence = await Promise.all(results.slice(0, maxEvidence).map((result) => evidenceOf(result)))
      const unsigned = { jobId, poster: signer.nodeId, publicKey: signer.publicKey, winners, outvoted, evidence, at: this.clock() }
      const vote = await sign('vote', unsigned, this.room)
      this.#ballots.doc?.transact(() => {
        this.#ballots.push([vote])
        const excess = this.#ballots.length - maxVotes
        if (excess > 0) this.#ballots.delete(0, excess)
      })
    })
  }
}
