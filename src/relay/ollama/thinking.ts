// Splits Qwen3's `<think>…</think>` out of streamed text, for Ollama's `thinking` field. A
// backend that already splits it (a chunk's `reasoning_content`) bypasses this; the tags may
// arrive cut across chunks, so a piece that could be the start of one waits for the next.

export interface Split {
  content: string
  thinking: string
}

const open = '<think>'
const close = '</think>'

/** How much of `text`'s end could begin `tag` (so must wait for more text). */
function partialTagLength(text: string, tag: string): number {
  for (let length = Math.min(tag.length - 1, text.length); length > 0; length--) {
    if (tag.startsWith(text.slice(text.length - length))) return length
  }
  return 0
}

export function createThinkSplitter() {
  let thinking = false
  let held = ''
  return {
    /** The text of one chunk, split; a possible tag's beginning is held back. */
    push(text: string): Split {
      const split: Split = { content: '', thinking: '' }
      let rest = held + text
      held = ''
      for (;;) {
        const tag = thinking ? close : open
        const at = rest.indexOf(tag)
        if (at === -1) break
        split[thinking ? 'thinking' : 'content'] += rest.slice(0, at)
        rest = rest.slice(at + tag.length)
        thinking = !thinking
      }
      const keep = partialTagLength(rest, thinking ? close : open)
      split[thinking ? 'thinking' : 'content'] += rest.slice(0, rest.length - keep)
      held = rest.slice(rest.length - keep)
      return split
    },
    /** What was held back, when the text has ended. */
    end(): Split {
      const split: Split = { content: thinking ? '' : held, thinking: thinking ? held : '' }
      held = ''
      return split
    },
  }
}
