// The always-on replica end to end: a relay process with RELAY_ROOMS and RELAY_DATA_DIR keeps
// the room's doc on disk. A browser writes memory and closes; the relay restarts; a newcomer
// with no other browser open gets the memory from the relay. And a relay restart with a
// gateway task in flight: on SIGTERM the /v1 stream ends with a `relay_restarting` error
// event and the task is cancelled in the room; after a crash (SIGKILL) the restarted relay
// finds the task on disk and cancels it. Either way the relay comes back with its node id.
import { expect, test, type Browser, type Page } from '@playwright/test'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import * as Y from 'yjs'
import { shutdownTaskReason } from '../../src/relay/gateway/backend'
import { orphanedTaskReason } from '../../src/relay/gateway/room-peer'
import { decodeRecords } from '../../src/relay/replica/records'
import { expectEngineState, wasmTiny } from './support/chat'
import { gatewayHealth, startGatewayRelay, tempDataDir, type GatewayRelay } from './support/gateway-relay'
import { appPath, expectMemory, freshRoom, readyAndAgreed, type RoomRef } from './support/nodes'

type SseEvent = { choices?: { delta: { content?: string | null } }[]; id?: string; error?: { code: string | null; type: string; message: string } } | '[DONE]'

/** The room's replica as the relay's /healthz shows it. */
async function replicaBytes(relay: GatewayRelay): Promise<number> {
  const health = await gatewayHealth(relay.baseUrl)
  return health?.backends?.find((backend) => backend.name === 'swarm')?.details?.rooms?.[0]?.replica?.bytes ?? -1
}

/**
 * A crash once the task the relay posted is on disk: the replica writes in batches (250 ms), and
 * a crash before its batch leaves only the browsers' copy, which the signed expiry removes.
 */
async function killOnceOnDisk(relay: GatewayRelay): Promise<void> {
  const deadlineMs = Date.now() + 5_000
  while ((await replicaBytes(relay)) <= 0 && Date.now() < deadlineMs) await new Promise((resolve) => setTimeout(resolve, 25))
  await relay.kill()
}

async function openApp(browser: Browser, relay: GatewayRelay, ref: RoomRef, params: Record<string, string> = {}): Promise<{ page: Page; close: () => Promise<void> }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`))
  await page.goto(`${relay.baseUrl}${appPath(ref, params)}`)
  await readyAndAgreed(page, params)
  return { page, close: () => context.close() }
}

/** The reason in the signed close of task `taskId` as the relay's files have it (read only: the relay is running). */
async function closeReasonOnDisk(dataDir: string, taskId: string): Promise<string | null> {
  const roomsDir = path.join(dataDir, 'rooms')
  const files = (await readdir(roomsDir)).filter((name) => name.endsWith('.snapshot') || name.endsWith('.log')).sort()
  const updates = (await Promise.all(files.map((name) => readFile(path.join(roomsDir, name))))).flatMap((bytes) => decodeRecords(bytes).payloads)
  const doc = new Y.Doc()
  if (updates.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(updates))
  const task = doc.getMap('tasks').get(taskId)
  const close = task instanceof Y.Map ? (task.get('close') as { reason?: string } | undefined) : undefined
  return close?.reason ?? null
}

/** The node id of the peer with no engine: the relay. */
function relayPeerId(page: Page): Promise<string | undefined> {
  return page.evaluate(() => globalThis.edgeswarm?.peers().find((peer) => peer.engine?.kind === 'none')?.id)
}

/** Reads an SSE body event by event; `onEvent` sees each as it comes. */
async function readSse(body: ReadableStream<Uint8Array>, onEvent: (event: SseEvent) => void): Promise<void> {
  const decoder = new TextDecoder()
  let buffered = ''
  for await (const bytes of body) {
    buffered += decoder.decode(bytes, { stream: true })
    let end: number
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      const data = buffered
        .slice(0, end)
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice('data: '.length))
        .join('\n')
      buffered = buffered.slice(end + 2)
      if (data !== '') onEvent(data === '[DONE]' ? '[DONE]' : (JSON.parse(data) as SseEvent))
    }
  }
}

test.describe('always-on replica', () => {
  const cleanup: (() => Promise<unknown>)[] = []
  let relay: GatewayRelay | undefined

  test.afterEach(async () => {
    const failed = test.info().status !== test.info().expectedStatus
    if (relay !== undefined) {
      const exitCode = await relay.stop()
      if (failed || exitCode !== 0) console.error(`[replica relay, exit ${exitCode}]\n${relay.output()}`)
      relay = undefined
    }
    for (const step of cleanup.splice(0).reverse()) await step()
  })

  test('a newcomer with no other browser open gets the memory from the relay, across a relay restart', async ({ browser }) => {
    const data = await tempDataDir()
    cleanup.push(data.remove)
    const ref = freshRoom('replica')
    relay = await startGatewayRelay(ref, { dataDir: data.dir })
    const port = relay.port

    const writer = await openApp(browser, relay, ref, { engine: 'none' })
    await expect.poll(() => relayPeerId(writer.page)).toMatch(/^[0-9a-f]{20}$/)
    const relayId = await relayPeerId(writer.page)
    const before = await replicaBytes(relay)
    const text = `kept by the relay ${ref.room}`
    await writer.page.evaluate((entry) => globalThis.edgeswarm?.memory.add(entry, ['replica']), text)
    // On disk (the replica's size grows only once a write is fsynced), then the writer leaves.
    await expect.poll(() => replicaBytes(relay as GatewayRelay)).toBeGreaterThan(before)
    await writer.close()

    expect(await relay.stop()).toBe(0)
    relay = await startGatewayRelay(ref, { dataDir: data.dir, port })

    const newcomer = await openApp(browser, relay, ref, { engine: 'none' })
    await expectMemory(newcomer.page, [text], 20_000)
    // Served by the relay: it is the only peer there, with the node id it had before the restart.
    const peers = await newcomer.page.evaluate(() => globalThis.edgeswarm?.peers().map((peer) => ({ id: peer.id, kind: peer.engine?.kind ?? null })))
    expect(peers).toEqual([{ id: relayId, kind: 'none' }])
    await newcomer.close()
  })

  for (const how of ['SIGTERM', 'SIGKILL'] as const) {
    test(`a gateway task in flight when the relay restarts (${how}) ends cancelled in the room${how === 'SIGTERM' ? ', its stream with a relay_restarting error' : ''}`, async ({ browser }) => {
      const data = await tempDataDir()
      cleanup.push(data.remove)
      const ref = freshRoom(`replica-${how.toLowerCase()}`)
      relay = await startGatewayRelay(ref, { dataDir: data.dir })
      const port = relay.port
      const executor = await openApp(browser, relay, ref, wasmTiny)
      cleanup.push(executor.close)
      await expectEngineState(executor.page, 'ready')
      await expect.poll(() => relayPeerId(executor.page)).toMatch(/^[0-9a-f]{20}$/)
      const relayId = await relayPeerId(executor.page)

      // The tiny model writes about 1200 tokens a second: 3500 leave seconds to stop the relay mid-answer.
      const response = await fetch(`${relay.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: `swarm/${ref.room}`, messages: [{ role: 'user', content: 'Tell me a long story.' }], max_tokens: 3500, stream: true }),
      })
      expect(response.status).toBe(200)
      if (response.body === null) throw new Error('no body')
      const events: SseEvent[] = []
      const stopping: { done: Promise<unknown> | null } = { done: null }
      const current = relay
      const read = readSse(response.body, (event) => {
        events.push(event)
        const text = typeof event === 'string' ? '' : (event.choices?.[0]?.delta.content ?? '')
        if (stopping.done === null && text !== '') stopping.done = how === 'SIGTERM' ? current.stop() : killOnceOnDisk(current)
      })
      if (how === 'SIGTERM') {
        await read
        expect(await stopping.done).toBe(0)
        const last = events.at(-1)
        expect(typeof last === 'object' ? last.error : last).toMatchObject({ code: 'relay_restarting', type: 'server_error', message: expect.stringMatching(/shutting down/) })
        expect(events).not.toContain('[DONE]')
      } else {
        // A crash cuts the stream: nothing can be said, the socket just ends.
        await read.catch(() => undefined)
        await stopping.done
      }
      const first = events.find((event) => typeof event === 'object' && event.id !== undefined)
      const taskId = typeof first === 'object' ? (first.id ?? '').replace(/^chatcmpl-/, '') : ''
      expect(taskId).not.toBe('')
      expect(events.some((event) => typeof event === 'object' && event.choices?.[0]?.delta.content)).toBe(true)

      relay = await startGatewayRelay(ref, { dataDir: data.dir, port })
      // The restarted relay is the same node; the task it posted ended cancelled (on SIGTERM as it
      // stopped, after a crash as it came back and found the task on disk), never left open.
      await expect.poll(() => relayPeerId(executor.page), { timeout: 30_000 }).toBe(relayId)
      const row = executor.page.locator(`[data-testid=task][data-task-id="${taskId}"]`)
      await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('cancelled')
      // Which end, concretely: the shutdown's own cancel, or the restarted relay's for a task nobody waits for.
      await expect.poll(() => closeReasonOnDisk(data.dir, taskId)).toBe(how === 'SIGTERM' ? shutdownTaskReason : orphanedTaskReason)
      // And it takes new work as before.
      const again = await fetch(`${relay.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: `swarm/${ref.room}`, messages: [{ role: 'user', content: 'Still there?' }], max_tokens: 8 }),
      })
      expect(again.status).toBe(200)
    })
  }
})
