import { afterEach, describe, expect, it } from 'vitest'
import { AbortError } from '../../src/shared/errors'
import { RpcClient, type MessageLike } from '../../src/shared/rpc'
import type { Engine } from '../../src/inference/engine'
import { serveEngine, type EngineMethods } from '../../src/inference/engine-rpc'
import { otherVersionHosts, SharedEngine } from '../../src/inference/shared-engine'
import { announceHost, answerHellos, askForHosts, hostAddress, onHostAnnounced, serveTabs, tabEndpoint, tabProtocolVersion } from '../../src/inference/tab-channel'
import { buildLabel } from '../../src/shared/build'
import type { ChatChunk, ChatRequest, EngineInfo, LoadProgress } from '../../src/inference/types'

const closers: (() => void)[] = []
afterEach(() => {
  for (const close of closers.splice(0).reverse()) close()
})

function channel(name: string): BroadcastChannel {
  const opened = new BroadcastChannel(name)
  closers.push(() => opened.close())
  return opened
}

const tick = (ms = 30): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** An engine whose load takes `loadMs` and reports two steps; its chat writes `words`. */
class FakeEngine implements Engine {
  readonly kind = 'wasm' as const
  loads = 0
  chats = 0
  unloaded = false
  constructor(
    private readonly name: string,
    private readonly loadMs = 20,
  ) {}
  async load(onProgress: (progress: LoadProgress) => void): Promise<void> {
    this.loads++
    onProgress({ phase: 'download', loadedBytes: 1, totalBytes: 2, text: 'half' })
    await tick(this.loadMs)
    onProgress({ phase: 'load', loadedBytes: 2, totalBytes: 2, text: 'loading' })
  }
  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatChunk> {
    this.chats++
    for (const word of [this.name, 'says', request.messages[0]?.content ?? '']) {
      if (signal?.aborted) throw new AbortError('aborted')
      await tick(1)
      yield chunk(word)
    }
  }
  info(): EngineInfo {
    return { kind: 'wasm', modelId: this.name, contextSize: 1024, availability: 'ready', supports: { tools: false, jsonSchema: false }, prefillTokensPerS: 1, decodeTokensPerS: 2 }
  }
  unload(): Promise<void> {
    this.unloaded = true
    return Promise.resolve()
  }
}

function chunk(content: string): ChatChunk {
  return { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'fake', choices: [{ index: 0, delta: { content }, finish_reason: null }] }
}

async function text(engine: Engine, content: string): Promise<string> {
  const words: string[] = []
  for await (const piece of engine.chat({ messages: [{ role: 'user', content }] })) words.push(piece.choices[0].delta.content ?? '')
  return words.join(' ')
}

describe('the tab channel', () => {
  it('ignores tabs that speak another protocol version (or the old unversioned one), and goes on serving', async () => {
    const name = `tabs-${Math.random()}`
    const hostSide = channel(name)
    const engine = new FakeEngine('host')
    closers.push(serveTabs(hostSide, (endpoint) => serveEngine(engine, endpoint)))

    const stranger = channel(name)
    const heard: unknown[] = []
    stranger.addEventListener('message', (event: MessageLike) => heard.push(event.data))
    const request = { kind: 'load', id: 1, payload: null }
    stranger.postMessage({ from: 'old-tab', to: hostAddress, body: request })
    stranger.postMessage({ protocol: 'edgeswarm-tab', version: tabProtocolVersion + 1, from: 'new-tab', to: hostAddress, body: request })
    stranger.postMessage({ protocol: 'edgeswarm-tab', version: tabProtocolVersion - 1, from: 'older-tab', to: hostAddress, body: { kind: 'chat', id: 2, payload: { messages: [] } } })
    stranger.postMessage({ protocol: 'edgeswarm-tab', version: tabProtocolVersion, from: 'junk-tab', to: hostAddress, body: 'not an envelope' })
    stranger.postMessage(null)
    await tick()
    expect(engine.loads).toBe(0)
    expect(heard).toEqual([])

    // A tab of this version is served as before.
    const clientSide = channel(name)
    const client = new RpcClient<EngineMethods>(tabEndpoint(clientSide, 'tab-1', hostAddress))
    const progress: LoadProgress[] = []
    const info = await client.call('load', null, { onEvent: (event) => progress.push(event) })
    expect(info.modelId).toBe('host')
    expect(progress.map((event) => event.text)).toEqual(['half', 'loading'])
    expect(engine.loads).toBe(1)
  })

  it('a host announcement of another version is not taken for a new host', async () => {
    const name = `tabs-${Math.random()}`
    const listener = channel(name)
    const hosts: string[] = []
    closers.push(onHostAnnounced(listener, (hostId) => hosts.push(hostId)))
    const other = channel(name)
    other.postMessage({ protocol: 'edgeswarm-tab', version: tabProtocolVersion + 1, from: 'future', to: '*', body: { kind: 'host-ready' } })
    other.postMessage({ from: 'host', to: '*', body: { kind: 'host-ready', hostId: 'past' } })
    announceHost(other, 'present')
    await tick()
    expect(hosts).toEqual(['present'])
  })
})

/** Web Locks as the browser grants them: one holder per name, the rest wait in line; `query` lists the held ones. */
function fakeLocks(heldElsewhere: string[] = []): Pick<LockManager, 'request' | 'query'> {
  const tails = new Map<string, Promise<void>>()
  const granted = new Set<string>()
  const request = (name: string, options: LockOptions, callback: () => Promise<void>): Promise<void> => {
    const before = tails.get(name) ?? Promise.resolve()
    let release: () => void = () => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    tails.set(
      name,
      before.then(() => held),
    )
    return before.then(async () => {
      try {
        granted.add(name)
        if (!options.signal?.aborted) await callback()
      } finally {
        granted.delete(name)
        release()
      }
    })
  }
  const query = (): Promise<LockManagerSnapshot> => Promise.resolve({ held: [...heldElsewhere, ...granted].map((name) => ({ name, mode: 'exclusive' as const })), pending: [] })
  return { request, query } as unknown as Pick<LockManager, 'request' | 'query'>
}

/** Tabs of one browser profile sharing one model; `engines` are the models their hosts made. */
function profileTabs(loadMs?: number): { engines: FakeEngine[]; tab: (label: string) => SharedEngine } {
  const locks = fakeLocks()
  const modelId = `model-${Math.random()}`
  const engines: FakeEngine[] = []
  const tab = (label: string): SharedEngine => {
    const shared = new SharedEngine({
      kind: 'wasm',
      modelId,
      locks,
      create: () => {
        const engine = new FakeEngine(label, loadMs)
        engines.push(engine)
        return engine
      },
    })
    closers.push(() => shared.close())
    return shared
  }
  return { engines, tab }
}

describe('the tab handshake across versions', () => {
  /** A tab of protocol `version` and build `build` that hosts: it answers hellos the way every version from 3 on does. */
  function foreignHost(name: string, version: number, build: string): void {
    const side = channel(name)
    side.addEventListener('message', (event: MessageLike) => {
      const data = event.data as { version?: unknown; from?: unknown; to?: unknown; body?: { kind?: unknown } } | null
      if (data?.to === '*' && data.body?.kind === 'hello') side.postMessage({ protocol: 'edgeswarm-tab', version, build, from: `host-v${version}`, to: data.from, body: { kind: 'host-here' } })
    })
  }

  it('a host answers the hello of a tab of another version with its own version and build, and serves it nothing else', async () => {
    const name = `tabs-${Math.random()}`
    const hostSide = channel(name)
    const engine = new FakeEngine('host')
    closers.push(
      serveTabs(hostSide, (endpoint) => serveEngine(engine, endpoint)),
      answerHellos(hostSide, 'host-tab'),
    )
    const futureSide = channel(name)
    const heard: unknown[] = []
    futureSide.addEventListener('message', (event: MessageLike) => heard.push(event.data))
    futureSide.postMessage({ protocol: 'edgeswarm-tab', version: tabProtocolVersion + 1, build: '9.9.9+future', from: 'future-tab', to: '*', body: { kind: 'hello' } })
    futureSide.postMessage({ protocol: 'edgeswarm-tab', version: tabProtocolVersion + 1, build: '9.9.9+future', from: 'future-tab', to: hostAddress, body: { kind: 'load', id: 1, payload: null } })
    await tick()
    expect(heard).toEqual([{ protocol: 'edgeswarm-tab', version: tabProtocolVersion, build: buildLabel(), from: 'host-tab', to: 'future-tab', body: { kind: 'host-here' } }])
    expect(engine.loads).toBe(0)
  })

  it('a tab hears the version and build of every host that answers, of its own version or another', async () => {
    const name = `tabs-${Math.random()}`
    foreignHost(name, tabProtocolVersion + 1, '0.2.0+next')
    const hostSide = channel(name)
    closers.push(answerHellos(hostSide, 'same-host'))
    const hosts = await askForHosts(channel(name), 'asker', 100)
    expect(hosts.sort((a, b) => a.version - b.version)).toEqual([
      { hostId: 'same-host', version: tabProtocolVersion, build: buildLabel() },
      { hostId: `host-v${tabProtocolVersion + 1}`, version: tabProtocolVersion + 1, build: '0.2.0+next' },
    ])
  })

  it('finds a newer host by its answer and an older one (protocol 2, which does not answer) by its lock; its own version is no conflict', async () => {
    const modelId = `model-${Math.random()}`
    const name = `edgeswarm-engine:wasm:${modelId}`
    foreignHost(name, tabProtocolVersion + 1, '0.2.0+next')
    const locks = fakeLocks([`${name}:v2`, `edgeswarm-engine:wasm:other-model:v1`, `${name}:vX`])
    const own = new SharedEngine({ kind: 'wasm', modelId, locks, create: () => new FakeEngine('own') })
    closers.push(() => own.close())
    await tick()
    expect(own.role).toBe('host')
    const hosts = await otherVersionHosts('wasm', modelId, { locks, waitMs: 100 })
    expect(hosts.sort((a, b) => a.version - b.version)).toEqual([
      { version: 2, build: null, relation: 'older' },
      { version: tabProtocolVersion + 1, build: '0.2.0+next', relation: 'newer' },
    ])
  })

  it('tabs of one version find no conflict and share the model', async () => {
    const { tab } = profileTabs()
    const first = tab('first')
    await first.load(() => undefined)
    const second = tab('second')
    expect(await text(second, 'hi')).toBe('first says hi')
    // The profile's locks are the fake's; BroadcastChannel is the process's own.
    expect(await otherVersionHosts('wasm', 'unused-model', { locks: fakeLocks(), waitMs: 50 })).toEqual([])
  })
})

describe('the shared engine across tabs', () => {
  it('loads once for all tabs; when the host closes, the next tab loads and answers', async () => {
    const { engines, tab } = profileTabs()
    const first = tab('first')
    await first.load(() => undefined)
    expect(first.role).toBe('host')

    const second = tab('second')
    const progress: string[] = []
    await second.load((event) => progress.push(event.text))
    expect(second.role).toBe('client')
    expect(engines.map((engine) => engine.loads)).toEqual([1])
    expect(await text(second, 'hi')).toBe('first says hi')
    expect(second.info().modelId).toBe('first')

    first.close()
    await tick(50)
    expect(second.role).toBe('host')
    // Asked again after the change, the load is the new host's own (from the cache, in the app).
    await second.load(() => undefined)
    expect(engines.map((engine) => engine.loads)).toEqual([1, 1])
    expect(await text(second, 'again')).toBe('second says again')
  })

  it('a question asked while the host loads waits for the load, and can be stopped', async () => {
    const locks = fakeLocks()
    const engine = new FakeEngine('slow', 200)
    const shared = new SharedEngine({ kind: 'wasm', modelId: `model-${Math.random()}`, locks, create: () => engine })
    closers.push(() => shared.close())
    const loading = shared.load(() => undefined)
    await tick(20)
    const controller = new AbortController()
    const stopped = text2(shared, controller.signal)
    controller.abort()
    await expect(stopped).rejects.toBeInstanceOf(AbortError)
    const waiting = text(shared, 'after')
    await loading
    await expect(waiting).resolves.toBe('slow says after')
    expect(engine.loads).toBe(1)
  })

  it('a load cut off by the host closing goes on with the next host, which loads itself', async () => {
    const { engines, tab } = profileTabs(150)
    const first = tab('first')
    void first.load(() => undefined).catch(() => undefined)
    await tick(10)
    const second = tab('second')
    const progress: string[] = []
    const loading = second.load((event) => progress.push(event.text))
    await tick(40)
    expect(progress).toContain('half')
    first.close()
    await loading
    expect(second.role).toBe('host')
    expect(engines.map((engine) => engine.loads)).toEqual([1, 1])
    expect(await text(second, 'there?')).toBe('second says there?')
  })

  it('a closed shared engine refuses at once instead of hanging', async () => {
    const shared = new SharedEngine({ kind: 'wasm', modelId: `model-${Math.random()}`, locks: fakeLocks(), create: () => new FakeEngine('x') })
    shared.close()
    await expect(shared.load(() => undefined)).rejects.toThrow('closed')
    expect(() => shared.chat({ messages: [{ role: 'user', content: 'hi' }] })).toThrow('closed')
  })
})

async function text2(engine: Engine, signal: AbortSignal): Promise<string> {
  let all = ''
  for await (const piece of engine.chat({ messages: [{ role: 'user', content: 'stop me' }] }, signal)) all += piece.choices[0].delta.content ?? ''
  return all
}
