import { expect, test } from '@playwright/test'
import { ask, expectEngineState, lastAnswer, tinyModel, wasmTiny } from './support/chat'
import { agreeToDownload, appPath, freshRoom, openNode, readyNodeId } from './support/nodes'

test('the app streams an answer from the wasm engine and stops on the stop button; the chat survives a reload', async ({ browser }) => {
  const a = await openNode(browser, freshRoom('chat'), wasmTiny)
  try {
    await expectEngineState(a.page, 'ready')
    await expect(a.page.getByTestId('engine-status')).toContainText('WASM · tiny-qwen3 · ready')
    await ask(a.page, 'What is the capital of France?')
    await expect.poll(async () => (await lastAnswer(a.page)).length).toBeGreaterThan(20)
    await a.page.getByTestId('chat-stop').click()
    const meta = a.page.getByTestId('msg-meta').last()
    await expect(meta).toContainText('stopped')
    await expect(meta).toContainText(/first token \d+ ms · [\d.]+ tok\/s/)
    await expect(a.page.getByTestId('chat-stop')).toBeHidden()
    const stoppedText = await lastAnswer(a.page)
    await a.page.waitForTimeout(500)
    expect(await lastAnswer(a.page)).toBe(stoppedText)

    await a.page.reload()
    await readyNodeId(a.page)
    await expect(a.page.getByTestId('msg-user')).toHaveText(['What is the capital of France?'])
    await expect(a.page.getByTestId('msg-answer')).toHaveText([stoppedText])
  } finally {
    await a.context.close()
  }
})

test('edgeswarm.chat streams OpenAI chunks, honours max_tokens, and rejects a bad request by name', async ({ browser }) => {
  const a = await openNode(browser, freshRoom('api-chat'), wasmTiny)
  try {
    await expectEngineState(a.page, 'ready')
    const result = await a.page.evaluate(async () => {
      const chunks = []
      for await (const chunk of globalThis.edgeswarm?.chat({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }) ?? []) chunks.push(chunk)
      return chunks
    })
    expect(result.at(-1)?.choices[0].finish_reason).toBe('length')
    expect(result.at(-1)?.usage?.completion_tokens).toBe(8)
    const error = await a.page.evaluate(async () => {
      try {
        // @ts-expect-error: a script passing junk
        for await (const chunk of globalThis.edgeswarm?.chat({ messages: 'hi' }) ?? []) console.log(chunk)
        return 'no error'
      } catch (error) {
        return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      }
    })
    expect(error).toMatch(/^ValidationError: bad chat request: messages/)

    const advice = await a.page.evaluate(() => globalThis.edgeswarm?.router.decide({ messages: [{ role: 'user', content: 'Prove that there are infinitely many primes, step by step.' }] }))
    expect(['local', 'swarm', 'relay']).toContain(advice?.route)
    expect(advice?.confidence).toBeGreaterThanOrEqual(0)
    expect(advice?.confidence).toBeLessThanOrEqual(1)
  } finally {
    await a.context.close()
  }
})

test('two tabs of one browser load the model once; when the holding tab closes, the other answers', async ({ browser }) => {
  const room = freshRoom('shared-engine')
  const first = await openNode(browser, room, wasmTiny)
  const second = await first.context.newPage()
  try {
    await expectEngineState(first.page, 'ready')
    await second.goto(appPath(room, wasmTiny))
    await readyNodeId(second)
    await expectEngineState(second, 'ready')
    await expect(second.getByTestId('engine-status')).toContainText('shared with another tab')
    await expect(first.page.getByTestId('engine-status')).not.toContainText('shared with another tab')
    // The second tab answers through the first tab's engine.
    await ask(second, 'Hello from the second tab')
    await expect.poll(async () => (await lastAnswer(second)).length).toBeGreaterThan(10)
    await second.getByTestId('chat-stop').click()
    await expect(second.getByTestId('msg-meta').last()).toContainText('stopped')

    await first.page.close()
    // The second tab takes the lock, loads the model from the cache, and runs it itself.
    await expect(second.getByTestId('engine-status')).not.toContainText('shared with another tab', { timeout: 30_000 })
    await expectEngineState(second, 'ready')
    await ask(second, 'Are you still there?')
    await expect.poll(async () => (await lastAnswer(second)).length, { timeout: 30_000 }).toBeGreaterThan(10)
    await second.getByTestId('chat-stop').click()
    await expect(second.getByTestId('msg-meta').last()).toContainText('stopped')
  } finally {
    await first.context.close()
  }
})

test('once the model is cached, the app reloads offline and still streams an answer', async ({ browser }) => {
  const a = await openNode(browser, freshRoom('offline-chat'), wasmTiny)
  try {
    await expectEngineState(a.page, 'ready')
    await a.page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 })
    await a.context.setOffline(true)
    await a.page.reload()
    await readyNodeId(a.page)
    await expectEngineState(a.page, 'ready')
    await ask(a.page, 'Offline question')
    await expect.poll(async () => (await lastAnswer(a.page)).length).toBeGreaterThan(10)
    await a.page.getByTestId('chat-stop').click()
    await expect(a.page.getByTestId('msg-meta').last()).toContainText('stopped')
  } finally {
    await a.context.close()
  }
})

test.describe('bad input gives a clear message and the node stays usable', () => {
  for (const [label, params, message] of [
    ['a corrupt GGUF', { engine: 'wasm', model: '/models/corrupt.gguf' }, /could not load corrupt/],
    ['a model URL that answers 404', { engine: 'wasm', model: '/models/missing.gguf' }, /model is not there \(404\)/],
    ['a model URL that is no GGUF', { engine: 'wasm', model: '/models/readme.txt' }, /must be an http\(s\) URL of a \.gguf file/],
  ] as const) {
    test(label, async ({ browser }) => {
      const a = await openNode(browser, freshRoom('bad'), params)
      try {
        await expectEngineState(a.page, 'failed')
        await expect(a.page.getByTestId('engine-message')).toContainText(message)
        await a.page.getByTestId('chat-route').selectOption('local')
        await ask(a.page, 'Anyone?')
        await expect(a.page.getByTestId('msg-error').last()).toBeVisible()
        // Left to the router, the question goes where a model answers: here, the relay.
        await a.page.getByTestId('chat-route').selectOption('auto')
        await ask(a.page, 'Anyone there?')
        await expect.poll(async () => (await lastAnswer(a.page)).length, { timeout: 30_000 }).toBeGreaterThan(10)
        await a.page.getByTestId('chat-stop').click()
        await expect(a.page.getByTestId('msg-meta').last()).toContainText('the relay')
        const id = await a.page.evaluate(() => globalThis.edgeswarm?.memory.add('still usable'))
        expect(id).toBeTruthy()
      } finally {
        await a.context.close()
      }
    })
  }

  test('an unknown engine name', async ({ browser }) => {
    const a = await openNode(browser, freshRoom('bad-engine'), { engine: 'cuda', model: tinyModel })
    try {
      await expect(a.page.getByTestId('notice-warn')).toContainText('unknown engine "cuda"')
      await expectEngineState(a.page, 'ready')
    } finally {
      await a.context.close()
    }
  })
})

test('WebGPU on the SwiftShader adapter does not hang: the app says why it cannot and falls back to WASM', async ({ browser }) => {
  const a = await openNode(browser, freshRoom('webgpu'), { engine: 'webgpu', model: tinyModel })
  try {
    await expectEngineState(a.page, 'ready', 45_000)
    await expect(a.page.getByTestId('engine-message')).toContainText(/WebGPU .*(cannot|failed).*WASM/i)
    await expect(a.page.getByTestId('engine-status')).toContainText('WASM')
  } finally {
    await a.context.close()
  }
})

test('engine settings kept in the profile choose the engine when the link does not', async ({ browser }) => {
  const room = freshRoom('settings')
  const a = await openNode(browser, room, {})
  try {
    await a.page.getByText('Engine settings').click()
    await a.page.getByTestId('settings-engine').selectOption('none')
    let reloaded = a.page.waitForEvent('load')
    await a.page.getByTestId('settings-save').click()
    await reloaded
    await readyNodeId(a.page)
    await expectEngineState(a.page, 'none')
    await expect(a.page.getByTestId('engine-message')).toContainText('No local model')

    await a.page.getByText('Engine settings').click()
    await a.page.getByTestId('settings-engine').selectOption('wasm')
    await a.page.getByTestId('settings-model').fill(tinyModel)
    reloaded = a.page.waitForEvent('load')
    await a.page.getByTestId('settings-save').click()
    await reloaded
    await readyNodeId(a.page)
    // A model in the settings chooses what is offered; the download still waits for the user.
    await agreeToDownload(a.page)
    await expectEngineState(a.page, 'ready')
    await expect(a.page.getByTestId('engine-status')).toContainText('WASM · tiny-qwen3')
  } finally {
    await a.context.close()
  }
})
