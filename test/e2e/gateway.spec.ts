// The swarm gateway end to end: the official openai client asks model `swarm/<room>` on a relay
// that joined the room as a WebRTC peer; a browser node of the room (wasm engine, tiny model)
// wins the task and its answer streams back through the relay's /v1.
import { expect, test } from '@playwright/test'
import OpenAI from 'openai'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import { expectEngineState, wasmTiny } from './support/chat'
import { startGatewayRelay, type GatewayRelay } from './support/gateway-relay'
import { appPath, freshRoom, readyAndAgreed } from './support/nodes'

test.describe('swarm gateway', () => {
  let relay: GatewayRelay | undefined

  test.afterEach(async () => {
    const testInfo = test.info()
    const current = relay
    relay = undefined
    if (current === undefined) return
    const exitCode = await current.stop()
    if (testInfo.status !== testInfo.expectedStatus || exitCode !== 0) console.error(`[gateway relay, exit ${exitCode}]\n${current.output()}`)
    expect(exitCode).toBe(0)
  })

  test('the openai client gets a browser node answer through model swarm/<room>', async ({ page }) => {
    const ref = freshRoom('gateway')
    relay = await startGatewayRelay(ref)
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`))
    await page.goto(`${relay.baseUrl}${appPath(ref, wasmTiny)}`)
    const nodeId = await readyAndAgreed(page, wasmTiny)
    await expectEngineState(page, 'ready')

    const client = new OpenAI({ baseURL: `${relay.baseUrl}/v1`, apiKey: 'not-needed-on-loopback', maxRetries: 0, timeout: 60_000 })
    const models = await client.models.list()
    expect(models.data.map((model) => model.id)).toEqual([`swarm/${ref.room}`])

    const stream = await client.chat.completions.create({
      model: `swarm/${ref.room}`,
      messages: [{ role: 'user', content: 'Say hello to the swarm.' }],
      max_completion_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: ChatCompletionChunk[] = []
    for await (const chunk of stream) chunks.push(chunk)
    const content = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? '')).join('')
    expect(chunks.filter((chunk) => (chunk.choices[0]?.delta.content ?? '') !== '').length).toBeGreaterThan(0)
    expect(content.length).toBeGreaterThan(0)
    const finishes = chunks.flatMap((chunk) => chunk.choices.flatMap((choice) => (choice.finish_reason === null ? [] : [choice.finish_reason])))
    expect(finishes).toHaveLength(1)
    expect(['stop', 'length']).toContain(finishes[0])
    const last = chunks.at(-1)
    expect(last?.choices).toEqual([])
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0)
    expect(last?.usage?.total_tokens).toBe((last?.usage?.prompt_tokens ?? 0) + (last?.usage?.completion_tokens ?? 0))
    expect(chunks.every((chunk) => chunk.model === `swarm/${ref.room}`)).toBe(true)

    const completion = await client.chat.completions.create({
      model: `swarm/${ref.room}`,
      messages: [{ role: 'user', content: 'And once more, in one go.' }],
      max_completion_tokens: 8,
    })
    expect(completion.object).toBe('chat.completion')
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0)
    expect(['stop', 'length']).toContain(completion.choices[0]?.finish_reason)
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0)

    // The relay is a peer of the room: the browser node lists it, with no engine.
    const relayPeer = await page.evaluate(() => globalThis.edgeswarm?.peers().find((peer) => peer.engine?.kind === 'none'))
    expect(relayPeer?.id).toMatch(/^[0-9a-f]{20}$/)
    expect(relayPeer?.id).not.toBe(nodeId)
  })

  test('the openai client gets a browser node’s embeddings through the gateway, its memory search model as an embedding task', async ({ page }) => {
    test.setTimeout(120_000)
    const ref = freshRoom('gateway-embed')
    relay = await startGatewayRelay(ref)
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`))
    const params = { engine: 'none', embedModel: '/models/tiny-embedding.gguf' }
    await page.goto(`${relay.baseUrl}${appPath(ref, params)}`)
    await readyAndAgreed(page, params)
    await page.getByTestId('memory-search-toggle').check()
    await page.getByTestId('memory-search-accept').click()
    await page.waitForFunction(() => globalThis.edgeswarm?.memory.semantic.state().phase === 'on', undefined, { timeout: 60_000 })

    const client = new OpenAI({ baseURL: `${relay.baseUrl}/v1`, apiKey: 'not-needed-on-loopback', maxRetries: 0, timeout: 60_000 })
    // The node's presence advertises its embedding model: the relay lists it beside the room.
    await expect.poll(async () => (await client.models.list()).data.map((model) => model.id), { timeout: 30_000 }).toEqual([`swarm/${ref.room}`, 'tiny-embedding'])
    const texts = ['The relay listens on port 8787', 'Les pairs échangent la mémoire', 'The relay listens on port 8787']
    const floats = await client.embeddings.create({ model: `swarm/${ref.room}`, input: texts, encoding_format: 'float' })
    expect(floats.model).toBe('tiny-embedding')
    expect(floats.data.map((item) => item.index)).toEqual([0, 1, 2])
    const [first, second, again] = floats.data.map((item) => item.embedding) as [number[], number[], number[]]
    expect(first).toHaveLength(64)
    expect(Math.hypot(...first)).toBeCloseTo(1, 3)
    expect(again).toEqual(first)
    expect(second).not.toEqual(first)
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0)
    // The client's default (base64, decoded by it), with the peer's model id as `model`.
    const byDefault = await client.embeddings.create({ model: 'tiny-embedding', input: texts[0] ?? '' })
    expect(byDefault.data[0]?.embedding).toEqual(Array.from(new Float32Array(first)))
  })

  test('answers 503 when no node of the room has a ready model', async () => {
    const ref = freshRoom('gateway-empty')
    relay = await startGatewayRelay(ref)
    const client = new OpenAI({ baseURL: `${relay.baseUrl}/v1`, apiKey: 'not-needed-on-loopback', maxRetries: 0 })
    const error: unknown = await client.chat.completions.create({ model: 'swarm', messages: [{ role: 'user', content: 'anyone?' }] }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503)
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toMatch(/no node with a ready model is in room/)
  })
})
