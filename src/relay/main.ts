// Entry point: `node --import tsx src/relay/main.ts`. Configuration comes from the environment.
import { loadConfig, RelayConfigError, type RelayConfig } from './config'
import { readPackageVersion } from './version'
import { installLastResort } from './last-resort'
import { createLogger } from './log'
import { createRelay } from './server'
import { loadV1Config, type V1Config } from './v1/config'

const shutdownDeadlineMs = 5_000

function readConfigOrExit(): { config: RelayConfig; v1: V1Config } {
  try {
    const config = loadConfig(process.env)
    return { config, v1: loadV1Config(process.env, config.host) }
  } catch (error) {
    if (error instanceof RelayConfigError) {
      console.error(`edgeswarm relay: ${error.message}`)
      process.exit(2)
    }
    throw error
  }
}

const { config, v1 } = readConfigOrExit()
const log = createLogger(config.logLevel)
// Before anything runs: whatever escapes every handler is counted, and the relay keeps serving.
const lastResort = installLastResort(log)
const relay = createRelay(config, { log, v1, faults: () => lastResort.counts() })

try {
  const { host, port } = await relay.listen()
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  log.info(`edgeswarm relay listening on ${url}`, { url, version: readPackageVersion(), staticDir: config.staticDir })
} catch (error) {
  log.error('edgeswarm relay failed to start', { error })
  process.exit(1)
}

let stopping = false

function shutdown(signal: NodeJS.Signals): void {
  if (stopping) {
    log.warn('edgeswarm relay: second signal, exiting now', { signal })
    process.exit(1)
  }
  stopping = true
  log.info('edgeswarm relay shutting down', { signal })
  setTimeout(() => {
    log.error('edgeswarm relay: shutdown took too long, exiting', { deadlineMs: shutdownDeadlineMs })
    process.exit(1)
  }, shutdownDeadlineMs).unref()
  relay.close().then(
    () => {
      log.info('edgeswarm relay stopped', { signal })
      process.exit(0)
    },
    (error: unknown) => {
      log.error('edgeswarm relay: shutdown failed', { error })
      process.exit(1)
    },
  )
}

process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
