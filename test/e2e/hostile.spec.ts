// A hostile member in the room, end to end: the real relay, a poster with no engine (A), an
// honest executor with the tiny model (B) and a Node peer with the room key (H,
// support/hostile-peer.ts) that hangs, injects, griefs, deletes and spoofs presence on every
// task. Every swarm chat of A must end, in bounded time, with exactly the answer B signs (B's own
// answer to the same request at temperature 0), and no text of H's may reach A.
import { expect, test } from '@playwright/test'
import { expectEngineState, wasmTiny } from './support/chat'
import { attacks, HostilePeer, type HostileLog } from './support/hostile-peer'
import { freshRoom, openNode, type AppNode } from './support/nodes'

const maxTokens = 24
/** How long one chat may take with H in the room: H's hang must be noticed well within it. */
const chatBoundMs = 45_000
const injectedMarker = 'INJECTED'
const deleteMarker = 'hostile-deletes-this'
const submitted = ['Name three colors.', 'What is two plus two?', 'Say hello to the swarm.', 'Write one word.']
const chatted = 'Tell me about the sea.'
const deleted = `Count to five (${deleteMarker}).`

interface ChatRecord {
  prompt: string
  via: 'submit' | 'chat'
  outcome: 'answer' | 'failed' | 'timeout'
  ms: number
  /** Everything A's page received for this chat, in order (restarts in brackets). */
  received: string
  /** The text after the last restart: the answer A's reader ends with. */
  final: string
  restarts: number
  result: { taskId: string; text: string; executor: string; epoch: number; finish: string } | null
  error: { name: string; message: string } | null
}

test('a hostile member hangs, injects, griefs, deletes and spoofs: every chat ends with the honest signed answer, nothing injected reaches the poster', async ({ browser }) => {
  test.setTimeout(150_000)
  const room = freshRoom('hostile')
  let nodes: AppNode[] = []
  let hostile: HostilePeer | null = null
  try {
    const a = await openNode(browser, room, { engine: 'none' })
    const b = await openNode(browser, room, wasmTiny)
    nodes = [a, b]
    await expectEngineState(b.page, 'ready')
    await expect.poll(() => a.page.evaluate((id) => globalThis.edgeswarm?.peers().find((peer) => peer.id === id)?.engine?.state, b.nodeId), { timeout: 15_000 }).toBe('ready')

    // The honest answers: what B says to each request itself, greedy (the tiny model's random
    // weights sample different text each time; greedy, its answer is fixed). Asked twice for
    // one, to be sure the comparison below is exact by construction and not by luck.
    const prompts = [...submitted, chatted, deleted]
    const honest = await b.page.evaluate(
      async ({ prompts, maxTokens }) => {
        const api = globalThis.edgeswarm
        if (!api) throw new Error('edgeswarm API missing')
        const answer = async (content: string): Promise<string> => {
          let text = ''
          for await (const chunk of api.chat({ messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0, enable_thinking: false, route: 'local' }))
            text += chunk.choices[0].delta.content ?? ''
          return text
        }
        const answers: Record<string, string> = {}
        for (const prompt of prompts) answers[prompt] = await answer(prompt)
        return { answers, again: await answer(prompts[0] ?? '') }
      },
      { prompts, maxTokens },
    )
    expect(honest.again, 'B answers the same request the same way at temperature 0').toBe(honest.answers[prompts[0] ?? ''])
    for (const prompt of prompts) expect(honest.answers[prompt]?.length, `B's own answer to "${prompt}"`).toBeGreaterThan(0)
    expect(Object.values(honest.answers).join(''), 'the honest answers do not contain the marker themselves').not.toContain(injectedMarker)

    const signalingUrl = `${new URL(a.page.url()).origin.replace(/^http/, 'ws')}/signal`
    hostile = await HostilePeer.start({ room: room.room, key: room.key, signalingUrl })
    hostile.target(b.nodeId)
    hostile.deleteMatching(deleteMarker, 2)
    const hostileId = hostile.nodeId
    const h = hostile
    await expect.poll(() => h.webrtcPeers(), { message: 'the hostile peer links to A and B', timeout: 20_000 }).toBeGreaterThanOrEqual(2)
    await expect.poll(() => a.page.evaluate((id) => globalThis.edgeswarm?.peers().some((peer) => peer.id === id), hostileId), { message: 'A hears of the hostile peer', timeout: 15_000 }).toBe(true)
    await expect.poll(() => h.log().counts.spoof, { message: 'the hostile poses as B', timeout: 10_000 }).toBeGreaterThan(0)

    const records: ChatRecord[] = await a.page.evaluate(
      async ({ submitted, chatted, deleted, maxTokens, boundMs }) => {
        const api = globalThis.edgeswarm
        if (!api) throw new Error('edgeswarm API missing')
        const timeout = (ms: number): Promise<'timeout'> => new Promise((resolve) => setTimeout(() => resolve('timeout'), Math.max(0, ms)))
        const named = (error: unknown): { name: string; message: string } => (error instanceof Error ? { name: error.name, message: error.message } : { name: typeof error, message: String(error) })
        const messages = (content: string) => [{ role: 'user' as const, content }]
        // Types are erased: the page's records are the ChatRecord this file reads back.
        type Record_ = ChatRecord
        const fresh = (prompt: string, via: Record_['via']): Record_ => ({ prompt, via, outcome: 'timeout', ms: 0, received: '', final: '', restarts: 0, result: null, error: null })

        const bySubmit = async (prompt: string): Promise<Record_> => {
          const started = Date.now()
          const record = fresh(prompt, 'submit')
          const handle = api.tasks.submit({ messages: messages(prompt), max_tokens: maxTokens, temperature: 0, enable_thinking: false })
          void (async () => {
            for await (const event of handle.chunks) {
              if (event.type === 'text') {
                record.received += event.text
                record.final += event.text
              } else {
                record.restarts++
                record.received += `[restart: ${event.reason}]`
                record.final = ''
              }
            }
          })().catch(() => undefined)
          const settled = await Promise.race([
            handle.result.then(
              (result) => ({ result }),
              (error: unknown) => ({ error }),
            ),
            timeout(boundMs),
          ])
          if (settled === 'timeout') handle.cancel()
          else if ('result' in settled) {
            record.outcome = 'answer'
            record.result = { taskId: settled.result.taskId, text: settled.result.text, executor: settled.result.executor, epoch: settled.result.epoch, finish: settled.result.finish }
          } else {
            record.outcome = 'failed'
            record.error = named(settled.error)
          }
          record.ms = Date.now() - started
          return record
        }

        const byChat = async (prompt: string): Promise<Record_> => {
          const started = Date.now()
          const record = fresh(prompt, 'chat')
          const chunks = api.chat({ messages: messages(prompt), max_tokens: maxTokens, temperature: 0, enable_thinking: false, route: 'swarm' })[Symbol.asyncIterator]()
          for (;;) {
            const next = await Promise.race([
              chunks.next().then(
                (step) => ({ step }),
                (error: unknown) => ({ error }),
              ),
              timeout(started + boundMs - Date.now()),
            ])
            if (next === 'timeout') {
              // Not awaited: a generator waiting inside the market cannot take its return now.
              void chunks.return?.(undefined).catch(() => undefined)
              break
            }
            if ('error' in next) {
              record.outcome = 'failed'
              record.error = named(next.error)
              break
            }
            if (next.step.done) {
              record.outcome = 'answer'
              break
            }
            record.received += next.step.value.choices[0].delta.content ?? ''
          }
          // The chat says a restart in the text (src/market/task-chunks.ts `taskEventText`); the answer is what follows the last one.
          const parts = record.received.split(/\n\n\[[^\]\n]*starts over\]\n\n/)
          record.restarts = parts.length - 1
          record.final = parts.at(-1) ?? ''
          record.ms = Date.now() - started
          return record
        }

        return Promise.all([...submitted.map(bySubmit), byChat(chatted), bySubmit(deleted)])
      },
      { submitted, chatted, deleted, maxTokens, boundMs: chatBoundMs },
    )
    const log: HostileLog = hostile.log()
    const pageText = await a.page.evaluate(() => document.body.innerText)
    await test.info().attach('hostile-log.json', { body: JSON.stringify(log, null, 2), contentType: 'application/json' })
    await test.info().attach('chats.json', { body: JSON.stringify({ honest: honest.answers, records }, null, 2), contentType: 'application/json' })
    console.log(`[hostile] ${JSON.stringify({ layout: log.layout, counts: log.counts, tasksSeen: log.tasksSeen, awards: log.awards, errors: log.errors.slice(0, 5) })}`)
    for (const record of records)
      console.log(
        `[chat] ${record.via} "${record.prompt}": ${record.outcome} in ${record.ms} ms, restarts ${record.restarts}, executor ${record.result?.executor ?? '-'}${record.error ? `, ${record.error.name}: ${record.error.message}` : ''}, injected seen: ${record.received.includes(injectedMarker)}`,
      )

    // The hostile really did all of it (else the test could pass with a hostile that did nothing).
    const required = Object.values(attacks).flat()
    expect(
      required.filter((attack) => log.counts[attack] === 0),
      'attacks the hostile peer never made',
    ).toEqual([])
    expect(log.tasksSeen, 'the hostile saw every task').toBeGreaterThanOrEqual(prompts.length)
    expect(log.counts.delete, 'deletions').toBeGreaterThanOrEqual(1)

    for (const record of records) {
      const answer = honest.answers[record.prompt]
      const what = `${record.via} "${record.prompt}"`
      expect.soft(record.received, `${what}: text nobody honest signed reached A`).not.toContain(injectedMarker)
      expect.soft(record.outcome, `${what}: ends within ${chatBoundMs} ms`).not.toBe('timeout')
      if (record.prompt === deleted && record.outcome === 'failed') {
        // A deleted task may fail, if it says why by name.
        expect.soft(record.error?.name, `${what}: a named failure`).toMatch(/^(?!Error$)\w+Error$/)
        expect.soft(record.error?.message ?? '', `${what}: says why`).not.toBe('')
        continue
      }
      expect.soft(record.outcome, `${what}: ends with an answer (${record.error?.name ?? ''} ${record.error?.message ?? ''})`).toBe('answer')
      expect.soft(JSON.stringify(record.final), `${what}: the answer A ends with is B's`).toBe(JSON.stringify(answer))
      if (record.via === 'submit') {
        expect.soft(record.result?.executor, `${what}: signed by B`).toBe(b.nodeId)
        expect.soft(JSON.stringify(record.result?.text), `${what}: the result is B's answer`).toBe(JSON.stringify(answer))
        expect
          .soft(record.result && log.honestResults[record.result.taskId], `${what}: the result is the one B wrote for this task`)
          .toEqual(record.result && { executor: b.nodeId, text: record.result.text })
      }
    }
    expect.soft(pageText, "A's page shows no injected text").not.toContain(injectedMarker)
  } finally {
    hostile?.close()
    await Promise.all(nodes.map((node) => node.context.close().catch(() => undefined)))
  }
})
