import { expect, test } from '@playwright/test'
import { connect, type Socket } from 'node:net'
import { WebSocket } from 'ws'
import { e2ePort } from '../../playwright.config'
import { addMemoryViaUi, expectMemory, expectPeers, freshRoom, openNode } from './support/nodes'

const signalUrl = `ws://127.0.0.1:${e2ePort}/signal`

function closeOf(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => socket.once('close', (code) => resolve(code)))
}

async function openSocket(): Promise<WebSocket> {
  const socket = new WebSocket(signalUrl)
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })
  return socket
}

/** Completes the WebSocket handshake by hand, then sends half a frame and goes silent. */
function halfOpenSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(e2ePort, '127.0.0.1', () => {
      socket.write(`GET /signal HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    })
    socket.once('data', (data) => {
      if (!data.toString().startsWith('HTTP/1.1 101')) reject(new Error(`handshake refused: ${data.toString().split('\r\n')[0] ?? ''}`))
      socket.write(Buffer.from([0x81, 0xfe, 0x10]))
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

test('garbage, oversized and half-open frames close only their own sockets; the room keeps working', async ({ browser }) => {
  const room = freshRoom('garbage')
  const a = await openNode(browser, room)
  const b = await openNode(browser, room)
  try {
    await expectPeers(a.page, [b.nodeId])
    const witness = await openSocket()
    witness.send(JSON.stringify({ type: 'subscribe', topics: ['witness-topic'] }))

    const garbage = await openSocket()
    const garbageClosed = closeOf(garbage)
    garbage.send('{{{ not json')
    const wrongShape = await openSocket()
    const wrongShapeClosed = closeOf(wrongShape)
    wrongShape.send(JSON.stringify({ type: 'subscribe', topics: 'not-a-list' }))
    const binary = await openSocket()
    const binaryClosed = closeOf(binary)
    binary.send(Buffer.from([1, 2, 3]))
    const oversized = await openSocket()
    const oversizedClosed = closeOf(oversized)
    oversized.send(JSON.stringify({ type: 'publish', topic: room.room, data: 'x'.repeat(2 * 1024 * 1024) }))
    const halfOpen = await halfOpenSocket()
    const halfOpenClosed = new Promise<void>((resolve) => halfOpen.once('close', () => resolve()))

    expect(await garbageClosed).toBeGreaterThanOrEqual(1000)
    expect(await wrongShapeClosed).toBeGreaterThanOrEqual(1000)
    expect(await binaryClosed).toBeGreaterThanOrEqual(1000)
    expect(await oversizedClosed).toBe(1009)
    await halfOpenClosed

    // The well-behaved socket is untouched and still gets its own publishes.
    expect(witness.readyState).toBe(WebSocket.OPEN)
    const echoed = new Promise<unknown>((resolve) => witness.once('message', (data) => resolve(JSON.parse((data as Buffer).toString('utf8')))))
    // In y-webrtc's shape (an open room's announce): the relay forwards nothing else.
    witness.send(JSON.stringify({ type: 'publish', topic: 'witness-topic', data: { type: 'announce', from: 'witness' } }))
    expect(await echoed).toMatchObject({ type: 'publish', topic: 'witness-topic', data: { type: 'announce', from: 'witness' }, clients: 1 })
    witness.close()

    // The room keeps working: memory still syncs, and a newcomer still finds everyone.
    await addMemoryViaUi(a.page, 'still working after the garbage')
    await expectMemory(b.page, ['still working after the garbage'])
    const c = await openNode(browser, room)
    try {
      await expectPeers(c.page, [a.nodeId, b.nodeId])
      await expectMemory(c.page, ['still working after the garbage'])
    } finally {
      await c.context.close()
    }
  } finally {
    await a.context.close()
    await b.context.close()
  }
})
