// Qwen3's thinking through the relay, for real: the fixture whose chat template opens `<think>`
// (tiny-qwen3-thinking.gguf, random weights: everything it writes is thinking until a thought
// budget closes the part) on the three backends, with the official `openai` client: the think
// part in `reasoning_content` (whole and streamed alike), enable_thinking false giving none,
// reasoning_effort honoured or refused with a 400, and /v1/responses giving a reasoning item.
import OpenAI from 'openai'
import type { ResponseStreamEvent } from 'openai/resources/responses/responses'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { v1Server } from '../contracts/v1-server'
import { openSwarmRoom } from './backend/swarm-room'
import { thinkingModelId, thinkingModelPath } from './backend/tiny-model'
import { startRelay, waitForBackendReady, type StartedRelay } from './relay-v1/start'

/** What a reasoning-aware client reads of a chat answer (llama-server's and vLLM's field). */
interface Thought {
  reasoning: string
  content: string
}

/** Fields the openai client passes through to the relay as they are. */
type Extra = Record<string, unknown>

const question = (extra: Extra = {}) => ({ model: '', messages: [{ role: 'user' as const, content: 'Why is the sea blue?' }], max_tokens: 16, temperature: 1, seed: 7, ...extra })

async function whole(client: OpenAI, model: string, extra: Extra = {}): Promise<Thought> {
  const completion = await client.chat.completions.create({ ...question(extra), model, stream: false } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)
  const message = completion.choices[0]?.message as { content: string | null; reasoning_content?: string } | undefined
  return { reasoning: message?.reasoning_content ?? '', content: message?.content ?? '' }
}

async function streamed(client: OpenAI, model: string, extra: Extra = {}): Promise<Thought & { reasoningChunks: number }> {
  const stream = await client.chat.completions.create({ ...question(extra), model, stream: true } as OpenAI.Chat.ChatCompletionCreateParamsStreaming)
  const out = { reasoning: '', content: '', reasoningChunks: 0 }
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string | null } | undefined
    if (delta?.reasoning_content) out.reasoningChunks++
    out.reasoning += delta?.reasoning_content ?? ''
    out.content += delta?.content ?? ''
  }
  return out
}

const noTags = (text: string): void => {
  expect(text).not.toContain('<think>')
  expect(text).not.toContain('</think>')
}

interface Served {
  client: OpenAI
  model: string
  close(): Promise<void>
}

/**
 * `streamedPieces`: the fewest reasoning deltas a stream of the thought comes in (the swarm's
 * output travels in batches, and a loaded machine may put a whole short thought in one).
 */
function thinkingCases(name: string, open: () => Promise<Served>, efforts: 'budget' | 'on-off', streamedPieces = 2): void {
  describe(`thinking split: ${name}`, () => {
    let served: Served | undefined
    const the = (): Served => {
      if (served === undefined) throw new Error('not opened')
      return served
    }
    beforeAll(async () => {
      served = await open()
    }, 120_000)
    afterAll(() => served?.close())

    it('puts the think part in message.reasoning_content, and streams it in reasoning_content deltas, alike', async () => {
      const { client, model } = the()
      const answer = await whole(client, model)
      expect(answer.reasoning.length).toBeGreaterThan(0)
      noTags(answer.reasoning)
      noTags(answer.content)
      const stream = await streamed(client, model)
      expect(stream.reasoningChunks).toBeGreaterThanOrEqual(streamedPieces)
      expect({ reasoning: stream.reasoning, content: stream.content }).toEqual(answer)
    })

    it('enable_thinking false (top level, and in chat_template_kwargs) gives an answer with no reasoning', async () => {
      const { client, model } = the()
      for (const off of [{ enable_thinking: false }, { chat_template_kwargs: { enable_thinking: false } }]) {
        const answer = await whole(client, model, off)
        expect(answer.reasoning, JSON.stringify(off)).toBe('')
        expect(answer.content.length).toBeGreaterThan(0)
        noTags(answer.content)
        const stream = await streamed(client, model, off)
        expect(stream.reasoningChunks).toBe(0)
        expect(stream.content.length).toBeGreaterThan(0)
      }
    })

    if (efforts === 'budget') {
      it('reasoning_effort low bounds the thinking: the think part closes and the model answers', async () => {
        const { client, model } = the()
        const answer = await whole(client, model, { reasoning_effort: 'low' })
        expect(answer.reasoning.length).toBeGreaterThan(0)
        expect(answer.content.length).toBeGreaterThan(0)
        noTags(answer.content)
        const unbounded = await whole(client, model, { reasoning_effort: 'high' })
        expect(unbounded.reasoning.length).toBeGreaterThan(answer.reasoning.length)
      })
    } else {
      it('reasoning_effort between none and high is a 400 naming it; high and none are honoured', async () => {
        const { client, model } = the()
        await expect(whole(client, model, { reasoning_effort: 'low' })).rejects.toMatchObject({ status: 400, param: 'reasoning_effort' })
        expect((await whole(client, model, { reasoning_effort: 'high' })).reasoning.length).toBeGreaterThan(0)
        expect((await whole(client, model, { reasoning_effort: 'none' })).reasoning).toBe('')
      })
    }

    it('fields that disagree are a 400 naming one', async () => {
      const { client, model } = the()
      await expect(whole(client, model, { enable_thinking: true, chat_template_kwargs: { enable_thinking: false } })).rejects.toMatchObject({
        status: 400,
        param: 'chat_template_kwargs.enable_thinking',
      })
    })

    if (name.startsWith('embedded') || name.startsWith('swarm')) {
      it('another chat_template_kwargs variable is a 400 naming it (this backend renders the template itself)', async () => {
        const { client, model } = the()
        await expect(whole(client, model, { chat_template_kwargs: { enable_thinking: true, tools_in_user: true } })).rejects.toMatchObject({ status: 400, param: 'chat_template_kwargs.tools_in_user' })
      })
    }

    it('/v1/responses: the thinking as a reasoning item (reasoning_text), whole and streamed; effort none gives none', async () => {
      const { client, model } = the()
      const response = await client.responses.create({ model, input: 'Why is the sea blue?', max_output_tokens: 16 })
      const reasoning = response.output[0]
      expect(reasoning?.type).toBe('reasoning')
      const text = reasoning?.type === 'reasoning' ? (reasoning.content?.[0]?.text ?? '') : ''
      expect(text.length).toBeGreaterThan(0)
      noTags(text)
      expect(response.usage?.output_tokens_details.reasoning_tokens).toBeGreaterThan(0)
      const stream = client.responses.stream({ model, input: 'Why is the sea blue?', max_output_tokens: 16 })
      const events: ResponseStreamEvent[] = []
      for await (const event of stream) events.push(event)
      const types = events.map((event) => event.type)
      expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added'])
      expect(types).toContain('response.reasoning_text.delta')
      expect(types).toContain('response.reasoning_text.done')
      const final = await stream.finalResponse()
      expect(final.output[0]?.type).toBe('reasoning')
      const none = await client.responses.create({ model, input: 'Why is the sea blue?', max_output_tokens: 8, reasoning: { effort: 'none' } })
      expect(none.output.map((item) => item.type)).toEqual(['message'])
    })
  })
}

const threads = { RELAY_MODEL_THREADS: '1', RELAY_MODEL_GPU: 'off', RELAY_MODEL_CONTEXT: '1024' }

async function embeddingRelay(): Promise<StartedRelay> {
  const relay = await startRelay({ RELAY_MODEL_PATH: thinkingModelPath, ...threads })
  try {
    // Under load, working out this template (no built-in wrapper matches it) takes a while.
    await waitForBackendReady(relay, 90_000)
  } catch (error) {
    await relay.close()
    throw error
  }
  return relay
}

const clientOf = (baseURL: string): OpenAI => new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 30_000 })

thinkingCases(
  'embedded (node-llama-cpp on the thinking fixture)',
  async () => {
    const relay = await embeddingRelay()
    return { client: clientOf(`${relay.baseUrl}/v1`), model: thinkingModelId, close: () => relay.close() }
  },
  'budget',
)

thinkingCases(
  'upstream (a relay whose upstream embeds the thinking fixture: reasoning_content passes through, the fields too)',
  async () => {
    const upstream = await embeddingRelay()
    const relay = await startRelay({ RELAY_UPSTREAM_URL: `${upstream.baseUrl}/v1` }).catch(async (error: unknown) => {
      await upstream.close()
      throw error
    })
    return {
      client: clientOf(`${relay.baseUrl}/v1`),
      model: thinkingModelId,
      close: async () => {
        await relay.close()
        await upstream.close()
      },
    }
  },
  'budget',
)

thinkingCases(
  'swarm (the gateway; the executor a MarketNode on the thinking fixture, its raw <think> text split by the relay)',
  async () => {
    const swarm = await openSwarmRoom(thinkingModelPath, thinkingModelId)
    const server = await v1Server(swarm.backend)
    return {
      client: clientOf(server.baseUrl),
      model: swarm.model,
      close: async () => {
        await server.close()
        await swarm.backend.close()
        await swarm.cleanup()
      },
    }
  },
  'on-off',
  1,
)
