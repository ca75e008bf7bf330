// The relay's data directory (RELAY_DATA_DIR): its identity key file and, when set explicitly,
// the room replicas. Made with mode 0700; one relay process at a time keeps replicas in it.
import { mkdir, open, readFile, stat, unlink, access, constants } from 'node:fs/promises'
import path from 'node:path'
import { registerError } from '../../shared/errors'
import type { Env } from '../config'

/** The data directory cannot be made, read or written, or another relay process holds it. */
export class RelayDataDirError extends Error {
  static {
    registerError((message) => new this(message))
  }
  override readonly name = 'RelayDataDirError'
}

const dirName = 'edgeswarm-relay'

/** `$XDG_DATA_HOME/edgeswarm-relay`, else `$HOME/.local/share/edgeswarm-relay`; null without either. */
export function defaultDataDir(env: Env): string | null {
  const xdg = env.XDG_DATA_HOME?.trim() ?? ''
  if (xdg !== '' && path.isAbsolute(xdg)) return path.join(xdg, dirName)
  const home = env.HOME?.trim() ?? ''
  return home !== '' && path.isAbsolute(home) ? path.join(home, '.local', 'share', dirName) : null
}

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error))

/** Makes `dir` (and its parents) with mode 0700 when missing; throws RelayDataDirError when it is not a writable directory. */
export async function ensureDataDir(dir: string, what: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (error) {
    throw new RelayDataDirError(`cannot make ${what} ${dir} (${codeOf(error)}): make it, or point RELAY_DATA_DIR at a writable directory`)
  }
  try {
    if (!(await stat(dir)).isDirectory()) throw new RelayDataDirError(`${what} ${dir} is not a directory`)
    await access(dir, constants.R_OK | constants.W_OK | constants.X_OK)
  } catch (error) {
    if (error instanceof RelayDataDirError) throw error
    throw new RelayDataDirError(`cannot use ${what} ${dir} (${codeOf(error)}): the relay must read and write it`)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists, it is another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes `<dir>/relay.lock` for this process: two relays appending to one replica would corrupt
 * it. A lock whose process is gone (a crash) is taken over. Returns the release.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const lockFile = path.join(dir, 'relay.lock')
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lockFile, 'wx', 0o600)
      await handle.writeFile(`${process.pid}\n`)
      await handle.close()
      return () => unlink(lockFile).catch(() => undefined)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new RelayDataDirError(`cannot lock RELAY_DATA_DIR ${dir} (${codeOf(error)})`)
    }
    const holder = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10)
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
      throw new RelayDataDirError(`RELAY_DATA_DIR ${dir} is in use by another relay process (pid ${holder}): give each relay a data directory of its own`)
    }
    await unlink(lockFile).catch(() => undefined)
  }
  throw new RelayDataDirError(`cannot lock RELAY_DATA_DIR ${dir}: its lock file keeps coming back`)
}
