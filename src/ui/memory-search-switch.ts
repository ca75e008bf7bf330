import type { MemorySearch, MemorySearchState } from '../memory/memory-search'
import { plural } from '../shared/text'
import { h } from './dom'

const megabytes = (bytes: number): string => `${Math.round(bytes / 1e6)} MB`

function stateText(state: MemorySearchState): string {
  switch (state.phase) {
    case 'off':
      return 'Search finds words only.'
    case 'loading':
      return state.loadedBytes > 0 ? `${state.text}: ${megabytes(state.loadedBytes)} of ${megabytes(state.totalBytes)}` : state.text
    case 'on':
      return state.pending > 0
        ? `Search by meaning: ${plural(state.indexed, 'entry', 'entries')} indexed, ${state.pending} to go.`
        : `Search by meaning: ${plural(state.indexed, 'entry', 'entries')} indexed (${state.modelId}).`
    case 'failed':
      return `Memory search failed: ${state.error}`
  }
}

/**
 * The "memory search" switch: turning it on first asks to download the embedding model (its
 * size shown), then shows the download and the indexing as they go.
 */
export function mountMemorySearchSwitch(root: HTMLElement, search: MemorySearch, report: (error: unknown) => void): () => void {
  const toggle = h('input', { type: 'checkbox', 'data-testid': 'memory-search-toggle' })
  const consent = h(
    'div',
    { class: 'consent', 'data-testid': 'memory-search-consent', hidden: true },
    `Search by meaning downloads ${search.model.label}${search.model.bytes > 0 ? `, about ${megabytes(search.model.bytes)}` : ''}, once; it then runs on this device, offline too. `,
    h('button', { type: 'button', 'data-testid': 'memory-search-accept', onclick: () => accept() }, 'Download and turn on'),
    h('button', { type: 'button', onclick: () => cancel() }, 'Cancel'),
  )
  const bar = h('progress', { max: 1, value: 0, 'data-testid': 'memory-search-progress', hidden: true })
  const status = h('span', { class: 'memory-search-status', 'data-testid': 'memory-search-status' })
  root.append(h('div', { class: 'memory-search' }, h('label', {}, toggle, ' Memory search (by meaning)'), consent, bar, status))

  const accept = (): void => {
    consent.hidden = true
    search.enable().catch(report)
  }
  const cancel = (): void => {
    consent.hidden = true
    toggle.checked = false
  }
  toggle.addEventListener('change', () => {
    if (toggle.checked) consent.hidden = false
    else {
      consent.hidden = true
      search.disable().catch(report)
    }
  })
  const render = (state: MemorySearchState): void => {
    root.dataset.memorySearch = state.phase
    if (state.phase !== 'off') toggle.checked = state.phase !== 'failed'
    bar.hidden = state.phase !== 'loading'
    if (state.phase === 'loading') bar.value = state.totalBytes > 0 ? state.loadedBytes / state.totalBytes : 0
    status.textContent = stateText(state)
  }
  render(search.state())
  return search.on('state', render)
}
