import { expect } from '@playwright/test'
import { runEngineContract } from '../contracts/engine'
import { expectEngineState, wasmTiny } from './support/chat'
import { appPath, freshRoom, openNode, readyNodeId } from './support/nodes'

runEngineContract('peer (the market, a wasm peer answering)', {
  open: async (page) => {
    const browser = page.context().browser()
    if (!browser) throw new Error('no browser')
    const room = freshRoom('peer-engine')
    const worker = await openNode(browser, room, wasmTiny)
    await expectEngineState(worker.page, 'ready')
    await page.goto(appPath(room, { engine: 'none' }))
    await readyNodeId(page)
    await expect.poll(() => page.evaluate(() => globalThis.edgeswarm?.peers()[0]?.engine?.state)).toBe('ready')
    await page.evaluate(() => {
      globalThis.engine = globalThis.edgeswarm?.engines.peer
    })
    return () => worker.context.close()
  },
})
