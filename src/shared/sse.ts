// Server-sent events as OpenAI streams them: `data: <json>\n\n`, ended by `data: [DONE]`.
import { registerError } from './errors'

export class SseFormatError extends Error {
  static {
    registerError((message) => new this(message))
  }
  override readonly name = 'SseFormatError'
}

/** One event's `data:` payload as written. */
export function sseEvent(data: string): string {
  return `data: ${data}\n\n`
}

/** Longest event we accept from an upstream before calling its stream broken. */
const maxEventChars = 4 * 1024 * 1024

/**
 * The `data` payloads of the events in `body`, in order; comments and other fields are
 * skipped, multi-line data joined with `\n`.
 */
export async function* readSseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let buffer = ''
  let dataLines: string[] = []
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true })
    if (buffer.length > maxEventChars) throw new SseFormatError(`an event is longer than ${maxEventChars} characters`)
    let newline = buffer.search(/\r?\n|\r/)
    while (newline >= 0) {
      const line = buffer.slice(0, newline)
      const separatorLength = buffer.startsWith('\r\n', newline) ? 2 : 1
      buffer = buffer.slice(newline + separatorLength)
      if (line === '') {
        if (dataLines.length > 0) yield dataLines.join('\n')
        dataLines = []
      } else if (line.startsWith('data:')) {
        dataLines.push(line.slice(line.startsWith('data: ') ? 6 : 5))
      }
      newline = buffer.search(/\r?\n|\r/)
    }
  }
  if (dataLines.length > 0) yield dataLines.join('\n')
}
