import * as Y from 'yjs'
import type { Signer } from '../../shared/sign'
import type { SerialWork } from './context'
import { maxSmallBytes, readValue, VoteSchema, type Vote } from './schema'
import { sign, verify } from './signing'
import { reputationOf } from './vote'

export const maxVotes = 512

/** The room's signed votes (doc map `votes`) and the reputation every node derives from them. */
export class Votes {
  rejected = 0
  readonly #map: Y.Map<unknown>
  readonly #verified = new Map<string, Vote>()
  readonly #seen = new WeakSet<object>()
  #reputation = new Map<string, number>()
  readonly #observer = (event: Y.YMapEvent<unknown>) => {
    for (const key of [...event.changes.keys.keys()].sort()) this.#check(key)
  }

  constructor(
    doc: Y.Doc,
    private readonly signer: Signer,
    private readonly clock: () => number,
    private readonly work: () => SerialWork,
  ) {
    this.#map = doc.getMap('votes')
  }

  start(): void {
    this.#map.observe(this.#observer)
    for (const key of [...this.#map.keys()].sort()) this.#check(key)
  }

  stop(): void {
    this.#map.unobserve(this.#observer)
  }

  /** 1 for a node never outvoted, lower the more it lost. */
  reputation(nodeId: string): number {
    return this.#reputation.get(nodeId) ?? 1
  }

  #check(jobId: string): void {
    const value = this.#map.get(jobId)
    if (value === undefined) {
      if (this.#verified.delete(jobId)) this.#recompute()
      return
    }
    if (typeof value === 'object' && value !== null) {
      if (this.#seen.has(value)) return
      this.#seen.add(value)
    }
    const vote = readValue(VoteSchema, value, maxSmallBytes * 2)
    if (!vote || vote.jobId !== jobId) {
      this.rejected++
      return
    }
    this.work().run(async () => {
      if (!(await verify('vote', vote, vote.publicKey, vote.poster)) || this.#map.get(jobId) !== value) return
      this.#verified.set(jobId, vote)
      this.#recompute()
    })
  }

  #recompute(): void {
    this.#reputation = reputationOf(this.#verified.values())
  }

  record(jobId: string, winners: string[], outvoted: string[]): void {
    const { signer } = this
    this.work().run(async () => {
      const unsigned = { jobId, poster: signer.nodeId, publicKey: signer.publicKey, winners, outvoted, at: this.clock() }
      const vote = await sign('vote', unsigned, signer)
      this.#map.doc?.transact(() => {
        this.#map.set(jobId, vote)
        this.#trim()
      })
    })
  }

  /** Keeps the newest `maxVotes`; every node picks the same oldest ones to drop. */
  #trim(): void {
    if (this.#map.size <= maxVotes) return
    const byAge = [...this.#map.entries()].map(([jobId, value]) => ({ jobId, at: readValue(VoteSchema, value, maxSmallBytes * 2)?.at ?? -1 }))
    byAge.sort((a, b) => a.at - b.at || a.jobId.localeCompare(b.jobId))
    for (const { jobId } of byAge.slice(0, byAge.length - maxVotes)) this.#map.delete(jobId)
  }
}
