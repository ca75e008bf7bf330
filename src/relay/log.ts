// Structured logs: one JSON object per line, `{ t, level, msg, ...fields }`.

export type LogLevel = 'debug' | 'info' | 'silent'

type Severity = 'debug' | 'info' | 'warn' | 'error'

export type LogFields = Readonly<Record<string, unknown>>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
}

const logLevels: readonly string[] = ['debug', 'info', 'silent'] satisfies LogLevel[]

/** Whether `value` names a log level (`RELAY_LOG`). */
export function isLogLevel(value: string): value is LogLevel {
  return logLevels.includes(value)
}

const reservedKeys = new Set(['t', 'level', 'msg'])

function toJsonValue(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message }
  return value
}

function formatLine(severity: Severity, msg: string, fields: LogFields | undefined): string {
  const record: Record<string, unknown> = { t: new Date().toISOString(), level: severity, msg }
  if (fields !== undefined) {
    for (const [key, value] of Object.entries(fields)) {
      if (!reservedKeys.has(key)) record[key] = toJsonValue(value)
    }
  }
  try {
    return JSON.stringify(record)
  } catch {
    // A field that cannot be serialized (a cycle, a BigInt) must not lose the message.
    return JSON.stringify({ t: record.t, level: severity, msg, unserializableFields: true })
  }
}

/**
 * A logger that writes one JSON line per record. `debug` shows everything, `info` hides
 * debug records, `silent` writes nothing.
 */
export function createLogger(level: LogLevel, writeLine: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Logger {
  const emit = (severity: Severity, msg: string, fields: LogFields | undefined): void => {
    if (level === 'silent' || (severity === 'debug' && level !== 'debug')) return
    writeLine(formatLine(severity, msg, fields))
  }
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  }
}
