import { EngineUnavailableError, serializeError, ValidationError } from '../../shared/errors'
import { configureOrt, createSession, releaseSession, runSession, type OrtSession } from './ort-backend'
import { parseMicronetRequest, type MicronetReply, type MicronetRequest, type WorkerStats } from './protocol'

/** What a worker's global scope offers (typed by what we use: the DOM and WebWorker libs conflict). */
interface WorkerScope {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
}

/**
 * Serves micro-net sessions on `scope`: create → run → dispose, one request at a time in
 * arrival order, so a dispose never overtakes a run queued before it. A bad message is dropped
 * and counted; a failed request answers `error` and never throws out of the listener.
 */
export function serveMicronets(scope: WorkerScope): void {
  const sessions = new Map<string, OrtSession>()
  const counters = { created: 0, released: 0, runs: 0, dropped: 0, threads: 1 }
  let queue: Promise<void> = Promise.resolve()

  const stats = (): WorkerStats => ({
    sessions: [...sessions.keys()],
    created: counters.created,
    released: counters.released,
    runs: counters.runs,
    threads: counters.threads,
  })
  const reply = (message: MicronetReply): void => scope.postMessage(message)

  const release = async (netId: string): Promise<void> => {
    const session = sessions.get(netId)
    if (!session) return
    sessions.delete(netId)
    await releaseSession(session)
    counters.released++
  }

  const handle = async (request: MicronetRequest): Promise<void> => {
    switch (request.kind) {
      case 'init':
        counters.threads = configureOrt(request.payload).threads
        break
      case 'create': {
        // A net created again under the same id replaces the old session (new weights).
        await release(request.payload.netId)
        sessions.set(request.payload.netId, await createSession(request.payload.model))
        counters.created++
        break
      }
      case 'run': {
        const session = sessions.get(request.payload.netId)
        if (!session) throw new EngineUnavailableError(`no session for net ${request.payload.netId}: create it first`)
        const output = await runSession(session, request.payload.input, request.payload.rows)
        counters.runs++
        reply({ kind: 'output', id: request.id, payload: { output } })
        return
      }
      case 'dispose':
        await release(request.payload.netId)
        break
      case 'stats':
        break
    }
    reply({ kind: 'done', id: request.id, payload: stats() })
  }

  scope.addEventListener('message', (event) => {
    const request = parseMicronetRequest(event.data)
    if (!request) {
      counters.dropped++
      const id: unknown = (event.data as { id?: unknown } | null)?.id
      if (typeof id === 'number') reply({ kind: 'error', id, payload: serializeError(new ValidationError('bad micro-net request')) })
      return
    }
    queue = queue.then(() => handle(request)).catch((error: unknown) => reply({ kind: 'error', id: request.id, payload: serializeError(error) }))
  })
}
