// The relay process's last resort: a rejection nobody handled, or an exception that escaped
// every listener, is logged and counted (shown in /healthz) instead of ending the process. The
// relay's own handlers catch what peers and clients can cause; a count above zero here is a
// bug to fix, not a state to live with, but it must not take the relay down for everybody.
import type { Logger } from './log'

export interface FaultCounts {
  unhandledRejections: number
  uncaughtExceptions: number
}

export interface LastResort {
  counts(): FaultCounts
  uninstall(): void
}

/** Installs the process-wide hooks; one per process. */
export function installLastResort(log: Logger): LastResort {
  const counts: FaultCounts = { unhandledRejections: 0, uncaughtExceptions: 0 }
  const onRejection = (reason: unknown): void => {
    counts.unhandledRejections += 1
    // Once, then every 100th: a flood must not become a flood of log lines.
    if (counts.unhandledRejections % 100 === 1) log.error('unhandled rejection (the relay keeps running)', { error: reason, count: counts.unhandledRejections })
  }
  const onException = (error: Error): void => {
    counts.uncaughtExceptions += 1
    if (counts.uncaughtExceptions % 100 === 1) log.error('uncaught exception (the relay keeps running)', { error, stack: error.stack?.slice(0, 2000), count: counts.uncaughtExceptions })
  }
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  return {
    counts: () => ({ ...counts }),
    uninstall() {
      process.off('unhandledRejection', onRejection)
      process.off('uncaughtException', onException)
    },
  }
}
