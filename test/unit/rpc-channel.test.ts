import * as v from 'valibot'
import { afterEach, describe, expect, it } from 'vitest'
import { AbortError, ChannelClosedError, InferenceError, ValidationError } from '../../src/shared/errors'
import { RpcClient, serveRpc, workerClient, type MessageLike, type RpcMethod, type WorkerLike } from '../../src/shared/rpc'

interface TestMethods {
  echo: RpcMethod<{ text: string }, string>
  count: RpcMethod<{ upTo: number }, 'done', number>
  wait: RpcMethod<null, 'finished'>
  fail: RpcMethod<{ name: 'validation' | 'inference' | 'plain' }, null>
}

const closers: (() => void)[] = []
afterEach(() => {
  for (const close of closers.splice(0)) close()
})

function connectedPair(options: { sequential?: boolean; drops?: string[] } = {}) {
  const { port1, port2 } = new MessageChannel()
  closers.push(
    () => port1.close(),
    () => port2.close(),
  )
  const client = new RpcClient<TestMethods>(port1)
  const aborted: string[] = []
  const stop = serveRpc<TestMethods>(
    port2,
    {
      echo: ({ text }) => text.toUpperCase(),
      count: ({ upTo }, { emit }) => {
        for (let n = 1; n <= upTo; n++) emit(n)
        return 'done'
      },
      wait: (_payload, { signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted.push('wait')
            reject(new AbortError('stopped by the caller'))
          })
        }),
      fail: ({ name }) => {
        if (name === 'validation') throw new ValidationError('bad thing')
        if (name === 'inference') throw new InferenceError('the model broke')
        throw new Error('plain')
      },
    },
    {
      schemas: { echo: v.object({ text: v.pipe(v.string(), v.maxLength(10)) }) },
      ...(options.sequential ? { sequential: true } : {}),
      onDrop: (reason) => options.drops?.push(reason),
    },
  )
  closers.push(stop)
  return { client, port1, port2, stop, aborted }
}

describe('the one RPC over a MessageChannel', () => {
  it('answers a call with its reply', async () => {
    const { client } = connectedPair()
    await expect(client.call('echo', { text: 'hello' })).resolves.toBe('HELLO')
  })

  it('streams events before the reply, in order', async () => {
    const { client } = connectedPair()
    const events: number[] = []
    await expect(client.call('count', { upTo: 5 }, { onEvent: (n) => events.push(n) })).resolves.toBe('done')
    expect(events).toEqual([1, 2, 3, 4, 5])
  })

  it('keeps concurrent calls apart', async () => {
    const { client } = connectedPair()
    const replies = await Promise.all(['a', 'b', 'c'].map((text) => client.call('echo', { text })))
    expect(replies).toEqual(['A', 'B', 'C'])
  })

  it('sends abort when the signal fires; the handler sees it and the call settles with AbortError', async () => {
    const { client, aborted } = connectedPair()
    const controller = new AbortController()
    const call = client.call('wait', null, { signal: controller.signal })
    setTimeout(() => controller.abort(), 10)
    const error: unknown = await call.catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(AbortError)
    expect(aborted).toEqual(['wait'])
  })

  it('refuses at once a call whose signal has already fired', async () => {
    const { client } = connectedPair()
    await expect(client.call('wait', null, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError)
  })

  it('rebuilds errors as their own class', async () => {
    const { client } = connectedPair()
    const validation: unknown = await client.call('fail', { name: 'validation' }).catch((caught: unknown) => caught)
    expect(validation).toBeInstanceOf(ValidationError)
    expect((validation as Error).message).toBe('bad thing')
    await expect(client.call('fail', { name: 'inference' })).rejects.toBeInstanceOf(InferenceError)
    await expect(client.call('fail', { name: 'plain' })).rejects.toThrow('plain')
  })

  it('checks payloads against the schema of their kind, and refuses unknown kinds, with a ValidationError', async () => {
    const drops: string[] = []
    const { port1 } = connectedPair({ drops })
    const client = new RpcClient<TestMethods & { nope: RpcMethod<null, null> }>(port1)
    await expect(client.call('echo', { text: 'far too long for the schema' })).rejects.toBeInstanceOf(ValidationError)
    await expect(client.call('nope', null)).rejects.toBeInstanceOf(ValidationError)
    expect(drops).toEqual(['bad echo payload', 'unknown kind nope'])
  })

  it('ignores bad envelopes on both sides and goes on serving', async () => {
    const drops: string[] = []
    const { client, port1, port2 } = connectedPair({ drops })
    for (const junk of [null, 42, 'text', {}, { kind: 'echo' }, { kind: 'echo', id: -1, payload: null }, { kind: 'echo', id: 1.5, payload: null }, { kind: 7, id: 1, payload: null }]) {
      port1.postMessage(junk)
      port2.postMessage(junk)
    }
    // A reply to a call nobody made, and an error that cannot be read.
    port2.postMessage({ kind: 'reply', id: 999, payload: 'stray' })
    const pending = client.call('wait', null)
    port2.postMessage({ kind: 'error', id: 1, payload: { nonsense: true } })
    await expect(pending).rejects.toBeInstanceOf(ValidationError)
    await expect(client.call('echo', { text: 'still' })).resolves.toBe('STILL')
    expect(drops.length).toBe(8)
  })

  it('settles every pending call when the client is closed, and refuses later ones', async () => {
    const { client } = connectedPair()
    const calls = [client.call('wait', null), client.call('wait', null)]
    client.close()
    for (const call of calls) await expect(call).rejects.toBeInstanceOf(ChannelClosedError)
    await expect(client.call('echo', { text: 'late' })).rejects.toBeInstanceOf(ChannelClosedError)
  })

  it('aborts running handlers when the server stops', async () => {
    const { client, stop, aborted } = connectedPair()
    const call = client.call('wait', null)
    await new Promise((resolve) => setTimeout(resolve, 10))
    stop()
    expect(aborted).toEqual(['wait'])
    client.close(new ChannelClosedError('gone'))
    await expect(call).rejects.toThrow('gone')
  })

  it('runs requests one at a time in arrival order when sequential', async () => {
    const { port1, port2 } = new MessageChannel()
    closers.push(
      () => port1.close(),
      () => port2.close(),
    )
    const order: string[] = []
    const stop = serveRpc<{ step: RpcMethod<{ name: string; delayMs: number }, string> }>(
      port2,
      {
        step: async ({ name, delayMs }) => {
          order.push(`start ${name}`)
          await new Promise((resolve) => setTimeout(resolve, delayMs))
          order.push(`end ${name}`)
          return name
        },
      },
      { sequential: true },
    )
    closers.push(stop)
    const client = new RpcClient<{ step: RpcMethod<{ name: string; delayMs: number }, string> }>(port1)
    await Promise.all([client.call('step', { name: 'slow', delayMs: 30 }), client.call('step', { name: 'fast', delayMs: 0 })])
    expect(order).toEqual(['start slow', 'end slow', 'start fast', 'end fast'])
  })

  it('fails every pending call of a worker that dies, never a hang', async () => {
    const { port1, port2 } = new MessageChannel()
    closers.push(
      () => port1.close(),
      () => port2.close(),
    )
    const errorListeners: ((event: MessageLike & { message?: string }) => void)[] = []
    let terminated = false
    const worker: WorkerLike = {
      postMessage: (message) => port1.postMessage(message),
      addEventListener: (type: 'message' | 'error', listener: (event: MessageLike & { message?: string }) => void) => {
        if (type === 'error') errorListeners.push(listener)
        else port1.addEventListener('message', listener)
      },
      removeEventListener: (_type, listener) => port1.removeEventListener('message', listener),
      terminate: () => {
        terminated = true
      },
    }
    const client = workerClient<TestMethods>(worker, 'test')
    const call = client.call('wait', null)
    for (const listener of errorListeners) listener({ data: null, message: 'out of memory' })
    await expect(call).rejects.toThrow('the test worker failed: out of memory')
    await expect(call).rejects.toBeInstanceOf(ChannelClosedError)
    expect(terminated).toBe(true)
  })
})
