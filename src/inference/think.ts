export interface SplitAnswer {
  /** What the model wrote inside `<think>…</think>`, trimmed. */
  thinking: string
  /** The answer proper, after the thinking part. */
  answer: string
  /** True while the `<think>` part has not been closed yet (still streaming it). */
  thinkingOpen: boolean
}

const open = '<think>'
const close = '</think>'

/** Splits Qwen3's raw output (so far) into its thinking and its answer. */
export function splitThinking(raw: string): SplitAnswer {
  const start = raw.indexOf(open)
  if (start === -1 || raw.slice(0, start).trim() !== '') {
    // A stream may stop inside the opening tag: hold back a partial "<thi".
    const partial = open.startsWith(raw.trimStart()) && raw.trim() !== ''
    return { thinking: '', answer: partial ? '' : raw, thinkingOpen: false }
  }
  const end = raw.indexOf(close, start + open.length)
  if (end === -1) return { thinking: raw.slice(start + open.length).trim(), answer: '', thinkingOpen: true }
  return { thinking: raw.slice(start + open.length, end).trim(), answer: raw.slice(end + close.length).replace(/^\s+/, ''), thinkingOpen: false }
}
