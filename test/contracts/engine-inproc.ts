// The Engine acceptance suite in Vitest, in this process: the same cases as the Playwright suite
// (engine-cases.ts) over an Engine built here, for fast feedback without a browser.
import { afterAll, beforeAll, describe, it } from 'vitest'
import type { Engine } from '../../src/inference/engine'
import type { LoadProgress } from '../../src/inference/types'
import { collectStream, engineCases, type EngineDriver } from './engine-cases'

export interface InProcessEngineSetup {
  /** A fresh, unloaded engine, and a cleanup for what else was started for it (a relay). */
  open(): Promise<{ engine: Engine; cleanup?: () => Promise<void> }>
}

function driverOf(engine: Engine, onUnload: () => void): EngineDriver {
  return {
    load: async () => {
      const events: LoadProgress[] = []
      await engine.load((event) => events.push(event))
      return events
    },
    stream: (request, abortAfterChunks = 0) => collectStream((signal) => engine.chat(request, signal), abortAfterChunks),
    info: () => Promise.resolve(engine.info()),
    count: (messages) => (engine.countTokens ? engine.countTokens(messages) : Promise.resolve(null)),
    unload: () => {
      onUnload()
      return engine.unload()
    },
  }
}

export function runEngineContractInProcess(name: string, setup: InProcessEngineSetup, caseTimeoutMs = 30_000): void {
  describe(`engine contract (in process): ${name}`, () => {
    let opened: Awaited<ReturnType<InProcessEngineSetup['open']>> | undefined
    let unloaded = false

    beforeAll(async () => {
      opened = await setup.open()
    }, 60_000)

    afterAll(async () => {
      // A case that failed may leave the engine loaded: it is unloaded, then the setup cleans up.
      const failures: unknown[] = []
      if (opened && !unloaded) await opened.engine.unload().catch((error: unknown) => failures.push(error))
      await opened?.cleanup?.().catch((error: unknown) => failures.push(error))
      if (failures.length > 0) throw new AggregateError(failures, `engine contract ${name}: cleanup failed`)
    }, 30_000)

    for (const { title, run } of engineCases) {
      it(
        title,
        async () => {
          if (!opened) throw new Error('the engine did not open')
          await run(
            driverOf(opened.engine, () => {
              unloaded = true
            }),
          )
        },
        caseTimeoutMs,
      )
    }
  })
}
