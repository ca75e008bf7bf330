import * as Y from 'yjs'
import type { Signer } from '../../../src/shared/sign'
import { SerialWork } from '../../../src/market/context'
import { bidFloorMs } from '../../../src/market/estimate'
import { readValue, SpecSchema, maxSpecBytes, type Spec } from '../../../src/market/schema'
import { evidenceOf, sign, signResult, type RoomSigner } from '../../../src/market/signing'
import type { Timers } from '../../../src/market/types'

/**
 * What a hostile member of the room may do: it holds the room key and a real identity of its
 * own, has read our source, and writes whatever the doc lets anyone write.
 */
export const behaviours = [
  'zero-bid', // bids 0 ms, signed by itself: wins every award unless refused
  'hang', // bids at the physical floor; when awarded, renews its signed lease and never answers
  'forge-lease', // writes leases naming the awarded executor (own signature), and replays old honest ones
  'inject', // appends output batches and results with its own text, self-signed or naming the executor
  'grief', // writes status, reason, forged close, lapse and award records; wipes bids and output
  'delete', // deletes tasks (each once)
  'unsolicited', // posts tasks no honest node can run and awards honest nodes that never bid
  'forge-votes', // ballots that drag honest nodes down, without evidence or with forged evidence
  'replay', // puts back older signed records: an earlier epoch's award, another task's result
] as const
export type Behaviour = (typeof behaviours)[number]

export const injected = 'INJECTED'

/** One hostile member acting on its own copy of the doc, on the simulation's timers. */
export class HostileMember {
  readonly work: SerialWork
  readonly done = new Map<Behaviour, number>()
  readonly #seen = new Set<string>()
  readonly #firstLeases = new Map<string, unknown>()
  readonly #awards = new Map<string, unknown>()
  readonly #results: unknown[] = []
  readonly #room: RoomSigner
  #posted = 0
  #ticking = false
  #stopped = false
  readonly #observer = () => this.#onChange()

  constructor(
    private readonly doc: Y.Doc,
    signer: Signer,
    roomId: string,
    readonly behaviourSet: ReadonlySet<Behaviour>,
    private readonly timers: Timers,
    private readonly clock: () => number,
    private readonly random: () => number,
    private readonly tickMs: number,
    private readonly untilMs: number,
    private readonly honest: () => string[],
    onError: (error: unknown) => void,
  ) {
    this.#room = { signer, roomId }
    this.work = new SerialWork(onError)
    doc.getMap('tasks').observeDeep(this.#observer)
  }

  get nodeId(): string {
    return this.#room.signer.nodeId
  }

  stop(): void {
    this.#stopped = true
    this.doc.getMap('tasks').unobserveDeep(this.#observer)
  }

  #did(behaviour: Behaviour): void {
    this.done.set(behaviour, (this.done.get(behaviour) ?? 0) + 1)
  }

  #has(behaviour: Behaviour): boolean {
    return this.behaviourSet.has(behaviour)
  }

  #tasks(): [string, Y.Map<unknown>][] {
    const out: [string, Y.Map<unknown>][] = []
    for (const [taskId, task] of this.doc.getMap('tasks').entries()) if (task instanceof Y.Map) out.push([taskId, task])
    return out.sort(([a], [b]) => (a < b ? -1 : 1))
  }

  #onChange(): void {
    if (this.#stopped) return
    for (const [taskId, task] of this.#tasks()) {
      const spec = readValue(SpecSchema, task.get('spec'), maxSpecBytes)
      if (!spec || spec.poster === this.nodeId) continue
      const award = task.get('award') as { epoch?: number; executor?: string } | undefined
      if (award && typeof award.epoch === 'number') {
        const key = `${taskId}/${award.epoch}`
        if (!this.#awards.has(key)) this.#awards.set(key, award)
      }
      const lease = task.get('lease') as { executor?: string } | undefined
      if (lease && lease.executor !== this.nodeId && !this.#firstLeases.has(taskId)) this.#firstLeases.set(taskId, lease)
      const result = task.get('result')
      if (result && (result as { executor?: string }).executor !== this.nodeId && !this.#results.includes(result)) this.#results.push(result)
      if (this.#seen.has(taskId)) continue
      this.#seen.add(taskId)
      this.#firstSight(taskId, task, spec)
    }
    this.#startTicking()
  }

  #firstSight(taskId: string, task: Y.Map<unknown>, spec: Spec): void {
    const { signer } = this.#room
    if (this.#has('zero-bid') || this.#has('hang')) {
      const estimateMs = this.#has('zero-bid') ? 0 : bidFloorMs(spec.request)
      this.work.run(async () => {
        const bid = await sign('bid', { taskId, bidder: signer.nodeId, estimateMs, at: this.clock(), publicKey: signer.publicKey }, this.#room)
        const bids = task.get('bids')
        if (bids instanceof Y.Map) bids.set(signer.nodeId, bid)
        this.#did(this.#has('zero-bid') ? 'zero-bid' : 'hang')
      })
    }
    if (this.#has('delete') && this.random() < 0.5) {
      this.timers.setTimeout(
        () => {
          if (this.#stopped) return
          const tasks = this.doc.getMap('tasks')
          if (tasks.has(taskId)) {
            tasks.delete(taskId)
            this.#did('delete')
          }
        },
        Math.floor(this.random() * 400),
      )
    }
  }

  #startTicking(): void {
    if (this.#ticking || this.#stopped) return
    this.#ticking = true
    const tick = () => {
      // Quiet while no honest task is open: the simulation must come to rest.
      if (this.#stopped || this.clock() > this.untilMs || !this.#tick()) {
        this.#ticking = false
        return
      }
      this.timers.setTimeout(tick, this.tickMs)
    }
    this.timers.setTimeout(tick, this.tickMs)
  }

  /** One round of attacks on the open tasks; false when there was none to attack. */
  #tick(): boolean {
    if (this.#has('unsolicited') && this.#posted < 3 && this.random() < 0.2) this.#postUnsolicited()
    if (this.#has('forge-votes') && this.random() < 0.2) this.#forgeVote()
    let open = false
    for (const [taskId, task] of this.#tasks()) {
      const spec = readValue(SpecSchema, task.get('spec'), maxSpecBytes)
      if (!spec || spec.poster === this.nodeId || task.has('close')) continue
      open = true
      const award = task.get('award') as { epoch?: number; executor?: string; executorKey?: string } | undefined
      const epoch = typeof award?.epoch === 'number' ? award.epoch : 1
      const executor = typeof award?.executor === 'string' ? award.executor : (this.honest()[0] ?? this.nodeId)
      if (this.#has('hang') && award?.executor === this.nodeId) this.#lease(task, taskId, epoch, this.nodeId, 'hang')
      if (this.#has('forge-lease') && this.random() < 0.5) {
        this.#lease(task, taskId, epoch, executor, 'forge-lease')
        const old = this.#firstLeases.get(taskId)
        if (old && this.random() < 0.5) task.set('lease', old)
      }
      // Into someone else's award: an executor that answers its own award wrongly is what
      // redundant jobs and their votes are for, not something a single award can tell.
      if (this.#has('inject') && executor !== this.nodeId && this.random() < 0.5) this.#inject(task, spec, taskId, epoch, executor)
      if (this.#has('grief') && this.random() < 0.3) this.#grief(task, taskId, epoch)
      if (this.#has('replay') && this.random() < 0.3) this.#replay(task, taskId, epoch)
    }
    return open
  }

  #lease(task: Y.Map<unknown>, taskId: string, epoch: number, executor: string, behaviour: Behaviour): void {
    this.work.run(async () => {
      const lease = await sign('lease', { taskId, epoch, executor, until: this.clock() + 3_000 }, this.#room)
      task.set('lease', lease)
      this.#did(behaviour)
    })
  }

  #inject(task: Y.Map<unknown>, spec: Spec, taskId: string, epoch: number, executor: string): void {
    const { signer } = this.#room
    this.work.run(async () => {
      // A member that bids and wins could sign what it wrote as its own answer: that is an
      // executor answering wrongly (see above), so a bidding member injects only forgeries.
      const ownName = !this.#has('hang')
      const output = task.get('output')
      for (let seq = 0; seq < 3 && output instanceof Y.Array && ownName; seq++) {
        const signed = await sign('batch', { taskId, epoch, seq, text: `${injected} ${seq}` }, this.#room)
        const { taskId: _taskId, ...batch } = signed
        output.push([batch, { epoch, seq, text: `${injected} unsigned ${seq}` }])
      }
      const base = { taskId, poster: spec.poster, epoch, text: injected, finish: 'stop' as const }
      const own = await signResult({ ...base, executor: signer.nodeId, publicKey: signer.publicKey }, this.#room)
      const named = await signResult({ ...base, executor, publicKey: signer.publicKey }, this.#room)
      task.set('result', ownName && this.random() < 0.5 ? own : named)
      if (output instanceof Y.Array) output.push([{ epoch, seq: 0, text: `${injected} unsigned` }])
      this.#did('inject')
    })
  }

  #grief(task: Y.Map<unknown>, taskId: string, epoch: number): void {
    const { signer } = this.#room
    const pick = this.random()
    this.work.run(async () => {
      if (pick < 0.2) task.set('status', ['done', 'failed', 'cancelled'][Math.floor(pick * 15)] ?? 'done')
      else if (pick < 0.4) task.set('close', await sign('close', { taskId, status: 'cancelled', reason: 'griefed', at: this.clock() }, this.#room))
      else if (pick < 0.55) task.set('lapse', await sign('lapse', { taskId, epoch, reason: 'griefed', at: this.clock() }, this.#room))
      else if (pick < 0.7) task.set('award', await sign('award', { taskId, epoch: epoch + 1, executor: signer.nodeId, executorKey: signer.publicKey, at: this.clock() }, this.#room))
      else if (pick < 0.85) task.set('bids', new Y.Map())
      else task.set('output', new Y.Array())
      task.set('reason', 'griefed')
      this.#did('grief')
    })
  }

  #replay(task: Y.Map<unknown>, taskId: string, epoch: number): void {
    const older = this.#awards.get(`${taskId}/${epoch - 1}`)
    const foreign = this.#results.find((result) => (result as { taskId?: string }).taskId !== taskId)
    if (older) task.set('award', older)
    else if (foreign) task.set('result', foreign)
    else return
    this.#did('replay')
  }

  /** A task only a WebGPU node could run, awarded at once to honest nodes that never bid. */
  #postUnsolicited(): void {
    const { signer } = this.#room
    const taskId = `evil-${this.nodeId.slice(0, 6)}-${this.#posted++}`
    const honest = this.honest()
    this.work.run(async () => {
      const spec = await sign(
        'spec',
        {
          v: 3,
          taskId,
          request: { messages: [{ role: 'user', content: 'unsolicited work' }], max_tokens: 8 },
          requirements: { engineKinds: ['webgpu'] },
          poster: signer.nodeId,
          publicKey: signer.publicKey,
          createdAt: this.clock(),
          expiresAt: this.clock() + 60_000,
        },
        this.#room,
      )
      const task = new Y.Map<unknown>()
      this.doc.transact(() => {
        this.doc.getMap('tasks').set(taskId, task)
        task.set('spec', spec)
        task.set('bids', new Y.Map())
        task.set('output', new Y.Array())
      })
      for (const [index, executor] of honest.slice(0, 3).entries()) {
        task.set('award', await sign('award', { taskId, epoch: index + 1, executor, executorKey: signer.publicKey, at: this.clock() }, this.#room))
      }
      this.#did('unsolicited')
    })
  }

  /** Votes that name honest nodes outvoted: unsupported, or with evidence this node made up. */
  #forgeVote(): void {
    const { signer } = this.#room
    const victims = this.honest().slice(0, 3)
    const jobId = `vote-${this.nodeId.slice(0, 6)}-${Math.floor(this.random() * 1e9)}`
    this.work.run(async () => {
      const fake = await Promise.all(
        victims.map(async (executor, index) =>
          evidenceOf(await signResult({ taskId: `fake-task-${index}`, poster: signer.nodeId, epoch: 1, executor, publicKey: signer.publicKey, text: 'x', finish: 'stop' }, this.#room)),
        ),
      )
      const real = this.#results.slice(-3).flatMap((result) => {
        const value = result as { taskId?: string; executor?: string; publicKey?: string; sig?: string; epoch?: number }
        return typeof value.taskId === 'string' && typeof value.executor === 'string' && typeof value.publicKey === 'string' && typeof value.sig === 'string'
          ? [{ taskId: value.taskId, epoch: value.epoch ?? 1, executor: value.executor, publicKey: value.publicKey, textHash: '0'.repeat(64), finish: 'stop' as const, sig: value.sig }]
          : []
      })
      const evidence = this.random() < 0.3 ? [] : this.random() < 0.5 ? fake : real
      const vote = await sign('vote', { jobId, poster: signer.nodeId, publicKey: signer.publicKey, winners: [], outvoted: victims, evidence, at: Number.MAX_SAFE_INTEGER }, this.#room)
      this.doc.getArray('ballots').push([vote])
      this.#did('forge-votes')
    })
  }
}
