import { describe, expect, it } from 'vitest'
import { AbortError } from '../../src/shared/errors'
import { SharedLoad } from '../../src/inference/shared-load'
import type { LoadProgress } from '../../src/inference/types'

const step = (text: string): LoadProgress => ({ phase: 'download', loadedBytes: 0, totalBytes: 0, text })

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve: () => void = () => undefined
  let reject: (error: Error) => void = () => undefined
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok
    reject = fail
  })
  return { promise, resolve, reject }
}

describe('SharedLoad, the one wait for a load', () => {
  it('runs one load for every joiner, replays the latest progress to a late one, and lets a waiter stop without stopping the load', async () => {
    const gate = deferred()
    let runs = 0
    let report: (progress: LoadProgress) => void = () => undefined
    const load = new SharedLoad(async (onProgress) => {
      runs++
      report = onProgress
      onProgress(step('first'))
      await gate.promise
    })
    const early: string[] = []
    const first = load.join((progress) => early.push(progress.text))
    await Promise.resolve()
    await Promise.resolve()
    const late: string[] = []
    const controller = new AbortController()
    const stopped = load.join((progress) => late.push(progress.text), controller.signal)
    const asking = load.wait()
    expect(load.underWay).toBe(true)
    controller.abort()
    await expect(stopped).rejects.toBeInstanceOf(AbortError)
    report(step('second'))
    gate.resolve()
    await first
    await asking
    expect(runs).toBe(1)
    expect(early).toEqual(['first', 'second'])
    expect(late).toEqual(['first'])
    expect(load.underWay).toBe(false)
    await load.join()
    expect(runs).toBe(1)
  })

  it('forgets a failed load, so the next join tries again; wait never starts one', async () => {
    let runs = 0
    const load = new SharedLoad(() => {
      runs++
      return runs === 1 ? Promise.reject(new Error('network')) : Promise.resolve()
    })
    await load.wait()
    expect(runs).toBe(0)
    await expect(load.join()).rejects.toThrow('network')
    await load.join()
    expect(runs).toBe(2)
    load.reset()
    await load.join()
    expect(runs).toBe(3)
  })

  it('a progress listener that throws does not fail the load', async () => {
    const load = new SharedLoad((onProgress) => {
      onProgress(step('x'))
      return Promise.resolve()
    })
    const warn = console.warn
    console.warn = () => undefined
    try {
      await expect(
        load.join(() => {
          throw new Error('bad view')
        }),
      ).resolves.toBeUndefined()
    } finally {
      console.warn = warn
    }
  })
})
