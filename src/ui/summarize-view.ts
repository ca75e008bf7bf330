import type { FanOutResult } from '../market'
import { plural } from '../shared/text'
import { h, shortId } from './dom'

export type Summarize = (text: string) => Promise<FanOutResult>

/** Starts a summary of `text` in the view, as if pasted and submitted (a shared item, an opened file). */
export type SummarizeText = (text: string) => void

/** "Summarize with the swarm": a pasted document is split, mapped over the peers, reduced. */
export function mountSummarizeView(root: HTMLElement, summarize: Summarize, selfId: string): SummarizeText {
  const input = h('textarea', { rows: 4, placeholder: 'Paste a long document: each peer summarizes a part, then one combines them.', 'data-testid': 'summarize-input' })
  const button = h('button', { type: 'submit', 'data-testid': 'summarize-run' }, 'Summarize with the swarm')
  const status = h('div', { class: 'peer-detail', 'data-testid': 'summarize-status', role: 'status' })
  const output = h('div', { class: 'msg assistant', 'data-testid': 'summarize-output', hidden: true })
  const form = h('form', { class: 'chat-form' }, input, h('div', { class: 'row' }, status, h('span', { class: 'spacer' }), button))
  const details = h('details', { class: 'summarize' }, h('summary', {}, 'Summarize a document with the swarm'), form, output)
  root.append(details)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const text = input.value.trim()
    if (!text) return
    button.disabled = true
    status.textContent = 'splitting the document and handing the parts to peers…'
    output.hidden = true
    const startedMs = performance.now()
    summarize(text)
      .then(
        (result) => {
          const who = new Set(result.parts.map((part) => (part.executor === selfId ? 'me' : shortId(part.executor))))
          status.textContent = `${plural(result.parts.length, 'part', 'parts')} summarized by ${[...who].join(', ')}, combined by ${result.reduce.executor === selfId ? 'me' : shortId(result.reduce.executor)} in ${((performance.now() - startedMs) / 1000).toFixed(1)} s`
          output.textContent = result.text
          output.hidden = false
        },
        (error: unknown) => {
          status.textContent = `the swarm could not summarize it: ${error instanceof Error ? error.message : String(error)}`
        },
      )
      .finally(() => {
        button.disabled = false
      })
  })
  return (text) => {
    details.open = true
    input.value = text
    form.requestSubmit()
    details.scrollIntoView({ block: 'nearest' })
  }
}
