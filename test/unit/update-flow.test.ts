import { afterEach, describe, expect, it } from 'vitest'
import { Busy } from '../../src/shared/busy'
import { ProfileBusy } from '../../src/shared/profile-busy'
import { UpdateFlow, type UpdateTarget } from '../../src/shared/update-flow'

const closers: (() => void)[] = []
afterEach(() => {
  for (const close of closers.splice(0).reverse()) close()
})

const tick = (ms = 30): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** One tab of a profile: its Busy, what it hears of the others, its update flow, and what the flow did to it. */
function tab(channelName: string, options: { heartbeatMs?: number } = {}): { busy: Busy; profile: ProfileBusy; flow: UpdateFlow; did: string[] } {
  const busy = new Busy()
  const channel = new BroadcastChannel(channelName)
  const profile = new ProfileBusy(busy, channel, options)
  const did: string[] = []
  const target: UpdateTarget = {
    skipWaiting: () => {
      did.push('skip-waiting')
      return Promise.resolve()
    },
    reload: () => did.push('reload'),
  }
  const flow = new UpdateFlow(target, busy, profile)
  closers.push(
    () => channel.close(),
    () => profile.close(),
    () => flow.close(),
  )
  return { busy, profile, flow, did }
}

const profileName = (): string => `busy-${Math.random()}`

describe('busy across the tabs of a profile', () => {
  it('each tab hears when another is busy and when it is idle again; a tab that opens later hears it too', async () => {
    const name = profileName()
    const a = tab(name)
    const b = tab(name)
    const release = a.busy.hold('answer')
    await tick()
    expect(b.profile.anyBusy).toBe(true)
    expect(b.profile.otherReasons()).toEqual([['answer']])
    const late = tab(name)
    await tick()
    expect(late.profile.otherReasons()).toEqual([['answer']])
    release()
    await tick()
    expect(b.profile.anyBusy).toBe(false)
    expect(late.profile.anyBusy).toBe(false)
  })

  it('a busy tab that stops saying so (it crashed) is forgotten after a few heartbeats', async () => {
    const name = profileName()
    const b = tab(name, { heartbeatMs: 20 })
    // A tab that said it was busy once and then went silent.
    const crashed = new BroadcastChannel(name)
    closers.push(() => crashed.close())
    crashed.postMessage({ protocol: 'edgeswarm-busy', kind: 'state', from: 'crashed-tab', reasons: ['download'] })
    await tick(10)
    expect(b.profile.anyBusy).toBe(true)
    await tick(120)
    expect(b.profile.anyBusy).toBe(false)
  })

  it('drops junk on the channel', async () => {
    const name = profileName()
    const b = tab(name)
    const junk = new BroadcastChannel(name)
    closers.push(() => junk.close())
    for (const message of [
      null,
      'busy',
      { protocol: 'edgeswarm-busy', kind: 'state', from: '', reasons: ['x'] },
      { protocol: 'edgeswarm-busy', kind: 'state', from: 'x', reasons: 'answer' },
      { kind: 'state', from: 'x', reasons: ['y'] },
    ])
      junk.postMessage(message)
    await tick()
    expect(b.profile.anyBusy).toBe(false)
  })

  it('a script that floods the channel with busy tabs is tracked up to a cap, and forgotten like any silent tab', async () => {
    const name = profileName()
    const b = tab(name, { heartbeatMs: 20 })
    const flood = new BroadcastChannel(name)
    closers.push(() => flood.close())
    for (let i = 0; i < 200; i++) flood.postMessage({ protocol: 'edgeswarm-busy', kind: 'state', from: `fake-${i}`, reasons: ['answer'] })
    await tick(10)
    expect(b.profile.otherReasons()).toHaveLength(64)
    await tick(120)
    expect(b.profile.anyBusy).toBe(false)
  })
})

describe('the update flow', () => {
  it('applies a waiting version at once when no tab is busy, and reloads once the new worker controls the page', () => {
    const a = tab(profileName())
    a.flow.waiting()
    expect(a.did).toEqual(['skip-waiting'])
    expect(a.flow.state).toBe('applying')
    a.flow.controllerChanged()
    expect(a.did).toEqual(['skip-waiting', 'reload'])
  })

  it('waits while another tab streams an answer, then applies it by itself', async () => {
    const name = profileName()
    const a = tab(name)
    const b = tab(name)
    const release = b.busy.hold('answer')
    await tick()
    a.flow.waiting()
    expect(a.flow.state).toBe('ready')
    expect(a.did).toEqual([])
    release()
    await tick()
    expect(a.did).toEqual(['skip-waiting'])
  })

  it('a busy tab whose version changed under it reloads only when it is idle, or when the user says so', () => {
    const name = profileName()
    const a = tab(name)
    const releaseAnswer = a.busy.hold('answer')
    const releaseDownload = a.busy.hold('download')
    a.flow.waiting()
    expect(a.flow.state).toBe('ready')
    // Another tab applied it: the new worker controls this page too.
    a.flow.controllerChanged()
    expect(a.flow.state).toBe('active')
    releaseAnswer()
    expect(a.did).toEqual([])
    releaseDownload()
    expect(a.did).toEqual(['reload'])

    const b = tab(name)
    b.busy.hold('answer')
    b.flow.controllerChanged()
    expect(b.did).toEqual([])
    b.flow.applyNow()
    expect(b.did).toEqual(['reload'])
  })

  it('Reload applies a waiting version even mid-answer, because the user asked', () => {
    const a = tab(profileName())
    a.busy.hold('answer')
    a.flow.waiting()
    expect(a.did).toEqual([])
    a.flow.applyNow()
    a.flow.controllerChanged()
    expect(a.did).toEqual(['skip-waiting', 'reload'])
  })

  it('offers the version again when telling the worker failed', async () => {
    const busy = new Busy()
    const profile = { anyBusy: false, on: () => () => undefined }
    const errors: unknown[] = []
    const flow = new UpdateFlow({ skipWaiting: () => Promise.reject(new Error('no waiting worker')), reload: () => undefined }, busy, profile)
    flow.on('error', (error) => errors.push(error))
    flow.waiting()
    await tick(1)
    expect(flow.state).toBe('current')
    expect(errors).toHaveLength(1)
  })
})
