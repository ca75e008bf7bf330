import { EngineUnavailableError } from '../../shared/errors'
import { serveRpc, type MessageEndpoint } from '../../shared/rpc'
import { configureOrt, createSession, releaseSession, runSession, type OrtSession } from './ort-backend'
import { micronetSchemas, type MicronetMethods, type WorkerStats } from './protocol'

/**
 * Serves micro-net sessions on `scope` (a worker's global scope): create → run → dispose, one
 * request at a time in arrival order, so a dispose never overtakes a run queued before it. A
 * bad message is dropped and counted; a failed request answers `error`.
 */
export function serveMicronets(scope: MessageEndpoint): () => void {
  const sessions = new Map<string, OrtSession>()
  const counters = { created: 0, released: 0, runs: 0, dropped: 0, threads: 1 }

  const stats = (): WorkerStats => ({
    sessions: [...sessions.keys()],
    created: counters.created,
    released: counters.released,
    runs: counters.runs,
    threads: counters.threads,
  })

  const release = async (netId: string): Promise<void> => {
    const session = sessions.get(netId)
    if (!session) return
    sessions.delete(netId)
    await releaseSession(session)
    counters.released++
  }

  return serveRpc<MicronetMethods>(
    scope,
    {
      init: (settings) => {
        counters.threads = configureOrt(settings).threads
        return stats()
      },
      create: async ({ netId, model }) => {
        // A net created again under the same id replaces the old session (new weights).
        await release(netId)
        sessions.set(netId, await createSession(model))
        counters.created++
        return stats()
      },
      run: async ({ netId, input, rows }) => {
        const session = sessions.get(netId)
        if (!session) throw new EngineUnavailableError(`no session for net ${netId}: create it first`)
        const output = await runSession(session, input, rows)
        counters.runs++
        return output
      },
      dispose: async ({ netId }) => {
        await release(netId)
        return stats()
      },
      stats,
    },
    { schemas: micronetSchemas, sequential: true, onDrop: () => counters.dropped++ },
  )
}
