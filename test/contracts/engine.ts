// The acceptance suite every Engine passes (as automerge-repo's runStorageAdapterTests): one
// page per engine, `globalThis.engine` built by `open`, each case (engine-cases.ts) driving it in
// the browser. engine-inproc.ts runs the same cases in Vitest, without a browser.
import { test, type Page } from '@playwright/test'
import type { ChatChunk, ChatRequest, LoadProgress } from '../../src/inference/types'
import { engineCases, type EngineDriver, type StreamResult } from './engine-cases'

export interface EngineContractSetup {
  /**
   * Opens a page and sets `globalThis.engine` to a fresh, unloaded engine. May return a cleanup
   * for what else it started (peers in other contexts); the suite awaits it once it is done.
   */
  open(page: Page): Promise<(() => Promise<void>) | undefined>
}

function pageDriver(page: Page): EngineDriver {
  return {
    load: () =>
      page.evaluate(async () => {
        const events: LoadProgress[] = []
        await globalThis.engine?.load((event) => events.push(event))
        return events
      }),
    stream: (request: ChatRequest, abortAfterChunks = 0): Promise<StreamResult> =>
      page.evaluate(
        async ({ request, abortAfterChunks }) => {
          const engine = globalThis.engine
          if (!engine) throw new Error('no engine')
          const controller = new AbortController()
          const chunks: ChatChunk[] = []
          try {
            for await (const chunk of engine.chat(request, controller.signal)) {
              chunks.push(chunk)
              if (abortAfterChunks > 0 && chunks.length === abortAfterChunks) controller.abort()
            }
          } catch (error) {
            return { chunks, text: '', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
          }
          return { chunks, text: chunks.map((chunk) => chunk.choices[0].delta.content ?? '').join('') }
        },
        { request, abortAfterChunks },
      ),
    info: () => page.evaluate(() => globalThis.engine?.info()),
    count: (messages) => page.evaluate(async (asked) => (globalThis.engine?.countTokens ? await globalThis.engine.countTokens(asked) : null), messages),
    unload: () => page.evaluate(() => globalThis.engine?.unload()),
  }
}

const cleanupTimeoutMs = 10_000

/** Runs `step`, giving up after `cleanupTimeoutMs`; the failure is returned, never thrown. */
async function settle(what: string, step: () => Promise<unknown>): Promise<Error | null> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${cleanupTimeoutMs} ms`)), cleanupTimeoutMs)
  })
  try {
    await Promise.race([step(), timeout])
    return null
  } catch (error) {
    return error instanceof Error ? error : new Error(`${what}: ${String(error)}`)
  } finally {
    clearTimeout(timer)
  }
}

export function runEngineContract(name: string, setup: EngineContractSetup): void {
  test.describe.serial(`engine contract: ${name}`, () => {
    let page: Page | undefined
    let cleanup: (() => Promise<void>) | undefined
    /** Whether a case unloaded the engine: it is then not unloaded twice. */
    let unloaded = false

    test.beforeAll(async ({ browser }) => {
      const context = await browser.newContext()
      page = await context.newPage()
      page.on('pageerror', (error) => console.error(`[${name} page error] ${error.message}`))
      cleanup = await setup.open(page)
    })

    test.afterAll(async () => {
      // Everything the suite started settles: the engine in the page (a case that failed may
      // have left it loaded), what `open` started elsewhere, then the page's own context.
      const opened = page
      const failures = [
        opened && !unloaded ? await settle('unloading the engine', () => opened.evaluate(() => globalThis.engine?.unload())) : null,
        cleanup ? await settle("the setup's cleanup", cleanup) : null,
        opened ? await settle('closing the context', () => opened.context().close()) : null,
      ].filter((failure): failure is Error => failure !== null)
      if (failures.length > 0) throw new AggregateError(failures, `engine contract ${name}: cleanup failed: ${failures.map((failure) => failure.message).join('; ')}`)
    })

    for (const { title, run } of engineCases) {
      test(title, async () => {
        if (!page) throw new Error('the page did not open')
        const driver = pageDriver(page)
        await run({
          ...driver,
          unload: () => {
            unloaded = true
            return driver.unload()
          },
        })
      })
    }
  })
}
