// An OpenAI-compatible server for /v1 tests: it streams one token per chunk, `max_tokens` of
// them, `intervalMs` apart, and reports its usage honestly. Model `broken` cuts the stream
// after 5 chunks; `fails` answers 500 with a secret in its message; `refuses` answers 400
// with a machine-readable code. It honours tools as a server with function calling does: a
// forced tool_choice gets one call, its arguments streamed in pieces, and finish reason
// tool_calls; it cannot do response_format json_object or json_schema, and says so with a 400.
// As one of several upstreams it lists the models it is given, and can be switched to failing
// (500 to everything) or hanging (never answering), then back. Its POST /v1/embeddings gives
// each text a vector of 4 numbers from its characters; model `embeds-short` one vector too few,
// `embeds-ragged` vectors of two widths, `embeds-null` a null in a vector.
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { chunkBuilder } from '../../../src/shared/openai'
import { sseEvent } from '../../../src/shared/sse'

export const upstreamPromptTokens = 20
export const upstreamSecret = 'sk-live-SECRET-0000 at 10.1.2.3'

interface FakeRequest {
  model: string
  max_tokens?: number
  max_completion_tokens?: number
  tools?: { function: { name: string } }[]
  tool_choice?: 'none' | 'auto' | 'required' | { function: { name: string } }
  response_format?: { type: string }
}

/** The arguments of a forced call, in the pieces the fake streams them in. */
export const callArgumentPieces = ['{"q', '": "to', 'k"}']

/** The tool a forced tool_choice calls: the one named, or the first for `required`; null when none is forced. */
function forcedTool(request: FakeRequest): string | null {
  const choice = request.tool_choice
  if (choice === undefined || choice === 'none' || choice === 'auto') return null
  return choice === 'required' ? (request.tools?.[0]?.function.name ?? null) : choice.function.name
}

/** serve: as above; fail: 500 to every request, the model list too; hang: reads requests, never answers. */
export type FakeMode = 'serve' | 'fail' | 'hang'

export interface FakeUpstream {
  url: string
  /** Chat requests it started (in every mode). */
  started(): number
  /** Model list requests it got. */
  listed(): number
  setMode(mode: FakeMode): void
  close(): Promise<void>
}

export const fakeModels: readonly string[] = ['tokens', 'broken', 'fails', 'refuses']
export const fakeEmbeddingModels: readonly string[] = ['embeds', 'embeds-short', 'embeds-ragged', 'embeds-null']

interface FakeEmbeddingsRequest {
  model: string
  input: string[]
}

/** A text's fake vector: its length, its first and last char codes, 1. */
export const fakeVectorOf = (text: string): number[] => [text.length, text.charCodeAt(0), text.charCodeAt(text.length - 1), 1]

function answerEmbeddings(res: ServerResponse, request: FakeEmbeddingsRequest): void {
  const vectors: (number | null)[][] = request.input.map(fakeVectorOf)
  if (request.model === 'embeds-short') vectors.pop()
  if (request.model === 'embeds-ragged') vectors[0]?.push(2)
  if (request.model === 'embeds-null') vectors[0]?.splice(0, 1, null)
  res.writeHead(200, { 'Content-Type': 'application/json' })
  const data = vectors.map((embedding, index) => ({ object: 'embedding', index, embedding }))
  res.end(JSON.stringify({ object: 'list', data: data.reverse(), model: request.model, usage: { prompt_tokens: request.input.length * 3, total_tokens: request.input.length * 3 } }))
}

export async function startFakeUpstream(intervalMs: number, models: readonly string[] = fakeModels): Promise<FakeUpstream> {
  const sockets = new Set<Socket>()
  let started = 0
  let listed = 0
  let mode: FakeMode = 'serve'
  const server: Server = createServer((req, res) => {
    const listing = req.method === 'GET' && req.url === '/v1/models'
    if (listing) listed += 1
    else if (mode !== 'serve') started += 1
    if (mode === 'fail') {
      res.writeHead(500, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ error: { message: 'the fake upstream is failing', type: 'server_error', code: null } }))
    }
    if (mode !== 'serve') return
    if (listing) {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ object: 'list', data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'test' })) }))
      return
    }
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    req.on('end', () => {
      started += 1
      if (req.url === '/v1/embeddings') {
        answerEmbeddings(res, JSON.parse(body) as FakeEmbeddingsRequest)
        return
      }
      const request = JSON.parse(body) as FakeRequest
      if (request.model === 'fails') {
        res.writeHead(500, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ error: { message: `database down, key ${upstreamSecret}`, type: 'server_error', code: null } }))
        return
      }
      if (request.model === 'refuses') {
        res.writeHead(400, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ error: { message: `this model's context is 8 tokens (${upstreamSecret})`, type: 'invalid_request_error', code: 'context_length_exceeded' } }))
        return
      }
      const format = request.response_format?.type ?? 'text'
      if (format !== 'text') {
        res.writeHead(400, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ error: { message: `response_format ${format} is not supported by this server`, type: 'invalid_request_error', code: 'unsupported_response_format' } }))
        return
      }
      const maxTokens = request.max_tokens ?? request.max_completion_tokens ?? 16
      const chunks = chunkBuilder(request.model)
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' })
      res.write(sseEvent(JSON.stringify(chunks.role())))
      const forced = forcedTool(request)
      if (forced !== null) {
        res.write(sseEvent(JSON.stringify(chunks.toolCalls([{ index: 0, id: 'call_fake_0', type: 'function', function: { name: forced, arguments: '' } }]))))
        for (const piece of callArgumentPieces) res.write(sseEvent(JSON.stringify(chunks.toolCalls([{ index: 0, function: { arguments: piece } }]))))
        res.write(sseEvent(JSON.stringify(chunks.finish('tool_calls'))))
        res.write(
          sseEvent(JSON.stringify(chunks.usage({ prompt_tokens: upstreamPromptTokens, completion_tokens: callArgumentPieces.length, total_tokens: upstreamPromptTokens + callArgumentPieces.length }))),
        )
        res.end(sseEvent('[DONE]'))
        return
      }
      let sent = 0
      const timer = setInterval(() => {
        if (res.destroyed) {
          clearInterval(timer)
          return
        }
        if (request.model === 'broken' && sent === 5) {
          clearInterval(timer)
          res.socket?.destroy()
          return
        }
        if (sent < maxTokens) {
          res.write(sseEvent(JSON.stringify(chunks.content('tok '))))
          sent += 1
          return
        }
        clearInterval(timer)
        res.write(sseEvent(JSON.stringify(chunks.finish('length'))))
        res.write(sseEvent(JSON.stringify(chunks.usage({ prompt_tokens: upstreamPromptTokens, completion_tokens: sent, total_tokens: upstreamPromptTokens + sent }))))
        res.end(sseEvent('[DONE]'))
      }, intervalMs)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    started: () => started,
    listed: () => listed,
    setMode: (next) => {
      mode = next
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
