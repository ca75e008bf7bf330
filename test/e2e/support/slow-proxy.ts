// A plain forwarder in front of the real e2e relay that sends the bodies of chosen paths
// slowly, so a test can pause a model download part-way (from localhost it would finish in a
// blink). Everything else passes through unchanged, the /signal WebSocket included, so the page
// it serves is the real app on the real relay, under the proxy's own origin.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'

export interface SlowProxy {
  baseUrl: string
  close(): Promise<void>
}

export async function startSlowProxy(targetPort: number, slowPath: (path: string) => boolean, bytesPerS: number): Promise<SlowProxy> {
  const sockets = new Set<Socket>()
  const forward = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    const upstream = httpRequest({ host: '127.0.0.1', port: targetPort, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: `127.0.0.1:${targetPort}` } }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers)
      if (!slowPath(incoming.url ?? '')) return void answer.pipe(outgoing)
      // A steady rate: each chunk goes out when the bytes before it have had their time.
      const startMs = Date.now()
      let sentBytes = 0
      answer.on('data', (chunk: Buffer) => {
        if (outgoing.destroyed) return void answer.destroy()
        outgoing.write(chunk)
        sentBytes += chunk.byteLength
        const waitMs = startMs + (sentBytes * 1000) / bytesPerS - Date.now()
        if (waitMs <= 0) return
        answer.pause()
        setTimeout(() => answer.resume(), waitMs)
      })
      answer.on('end', () => outgoing.end())
    })
    upstream.on('error', () => outgoing.destroy())
    outgoing.on('close', () => upstream.destroy())
    incoming.pipe(upstream)
  }
  const server = createServer(forward)
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('upgrade', (incoming: IncomingMessage, socket: Socket, head: Buffer) => {
    const upstream = connect(targetPort, '127.0.0.1', () => {
      const lines = [`${incoming.method ?? 'GET'} ${incoming.url ?? '/'} HTTP/1.1`]
      for (let index = 0; index < incoming.rawHeaders.length; index += 2) {
        const name = incoming.rawHeaders[index] ?? ''
        lines.push(`${name}: ${name.toLowerCase() === 'host' ? `127.0.0.1:${targetPort}` : (incoming.rawHeaders[index + 1] ?? '')}`)
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
      upstream.write(head)
      upstream.pipe(socket).pipe(upstream)
    })
    sockets.add(upstream)
    upstream.on('error', () => socket.destroy())
    socket.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
