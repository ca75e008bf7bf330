import type { MemorySearch } from '../memory/memory-search'
import { plural } from '../shared/text'
import type { MemoryItem } from '../memory/store'
import { search } from '../memory/search'
import type { SwarmNode } from '../swarm/node'
import { h, nodeTextStyle, onPacedFrame, reconcile, shortId, timeAgo } from './dom'
import { mountMemorySearchSwitch } from './memory-search-switch'

const trustLabels = {
  trusted: '',
  'bad-signature': 'signature invalid: not trusted',
  malformed: 'malformed entry: not trusted',
} as const

const maxShown = 200
/** Entries a search by meaning shows: every entry has some nearness, so the nearest few. */
const hybridShown = 20

function sameItem(a: MemoryItem, b: MemoryItem): boolean {
  return a.text === b.text && a.updatedAt === b.updatedAt && a.author === b.author && a.trust === b.trust && a.tags.join('\u0000') === b.tags.join('\u0000')
}

function parseTags(text: string): string[] {
  return text
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean)
}

const storageFullNote = "Shared with the room, but this browser's storage is full: it is not saved on this device. Your text is kept here; free some space and remember it again."

/** One line on what the room's readers refused and put back, and what peers sent past their budget. */
function refusalsText(node: SwarmNode): string {
  const refused = Object.values(node.memory.refusals()).reduce((sum, count) => sum + count, 0)
  const drops = node.room.drops()
  const dropped = drops.oversized + drops.overBudget + drops.malformed
  if (refused === 0 && dropped === 0 && node.memory.restored === 0) return ''
  return `Refused ${plural(refused, 'entry', 'entries')} (forged, replayed, from another room, dated ahead), put back ${node.memory.restored}; dropped ${plural(dropped, 'peer message', 'peer messages')} (too big, over budget, malformed).`
}

/**
 * The shared memory: add, search, edit and delete entries; untrusted ones are flagged. Only an
 * entry's author edits or deletes it: editing another node's entry makes a new entry of this
 * node's (the original stays, under its author's name).
 */
export function mountMemoryView(root: HTMLElement, node: SwarmNode, report: (error: unknown) => void, memorySearch: MemorySearch): () => void {
  const text = h('textarea', { rows: 2, placeholder: 'A fact, a note, anything the swarm should remember', 'data-testid': 'memory-text', maxlength: 8000 })
  const tags = h('input', { placeholder: 'tags, comma separated', 'data-testid': 'memory-tags' })
  const formError = h('div', { class: 'form-error', role: 'alert' })
  const form = h('form', { class: 'memory-form' }, text, h('div', { class: 'row' }, tags, h('button', { type: 'submit', 'data-testid': 'memory-add' }, 'Remember')), formError)
  const query = h('input', { type: 'search', placeholder: 'Search memory', 'data-testid': 'memory-search' })
  const list = h('ul', { class: 'memory-list', 'data-testid': 'memory-list' })
  const refusals = h('p', { class: 'memory-refusals', 'data-testid': 'memory-refusals' })
  const searchSwitch = h('div', { 'data-testid': 'memory-search-switch' })
  root.append(h('h2', {}, 'Shared memory'), form, searchSwitch, query, list, refusals)
  const stopSwitch = mountMemorySearchSwitch(searchSwitch, memorySearch, report)

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    formError.textContent = ''
    const written = { text: text.value, tags: tags.value }
    node.memory
      .add({ text: written.text, tags: parseTags(written.tags) })
      .then(() => node.room.whenStored())
      .then(
        (stored) => {
          // Nothing the user wrote goes unsaved in silence: the text stays until it is kept.
          if (!stored) {
            formError.textContent = storageFullNote
            return
          }
          if (text.value === written.text) text.value = ''
          if (tags.value === written.tags) tags.value = ''
        },
        (error: unknown) => {
          formError.textContent = error instanceof Error ? error.message : String(error)
        },
      )
  })
  const stopStorage = node.room.on('storage-full', report)

  let editing: string | null = null
  const stopEditing = (): void => {
    // The row held the editor: it is rebuilt, even when its entry did not change (a cancel, an
    // edit of another node's entry, which is a new entry of ours).
    if (editing !== null) rows.delete(editing)
    editing = null
    render()
  }
  const editor = (item: MemoryItem, row: HTMLElement): void => {
    editing = item.id
    const editText = h('textarea', { rows: 2, 'data-testid': 'memory-edit-text' }, item.text)
    const editTags = h('input', { value: item.tags.join(', '), 'data-testid': 'memory-edit-tags' })
    const save = h('button', { type: 'submit', 'data-testid': 'memory-save' }, 'Save')
    const cancel = h('button', { type: 'button', onclick: stopEditing }, 'Cancel')
    const editForm = h('form', { class: 'memory-edit' }, editText, h('div', { class: 'row' }, editTags, save, cancel))
    editForm.addEventListener('submit', (event) => {
      event.preventDefault()
      node.memory
        .update(item.id, { text: editText.value, tags: parseTags(editTags.value) })
        .then(() => node.room.whenStored())
        .then((stored) => {
          if (stored) stopEditing()
          else editForm.append(h('div', { class: 'form-error', role: 'alert' }, storageFullNote))
        }, report)
    })
    row.replaceChildren(editForm)
    editText.focus()
  }

  const itemRow = (item: MemoryItem): HTMLElement => {
    const row = h('li', { class: `memory-item ${item.trust}`, 'data-testid': 'memory-item', 'data-id': item.id, 'data-trust': item.trust })
    const mine = item.author === node.nodeId
    // Another node's verified entry is its author's: an edit here is a new entry of ours, and
    // only the author can delete it. A value nobody verifiable wrote anyone may clear away.
    const ours = mine && item.trust === 'trusted'
    const removable = ours || item.trust !== 'trusted'
    row.append(
      h('div', { class: 'memory-text', 'data-testid': 'memory-item-text' }, item.text),
      h(
        'div',
        { class: 'memory-meta' },
        ...item.tags.map((tag) => h('span', { class: 'tag' }, tag)),
        h('span', { class: 'author', style: nodeTextStyle(item.author), title: item.author }, mine ? 'me' : shortId(item.author)),
        item.updatedAt ? h('time', {}, timeAgo(item.updatedAt)) : null,
        item.trust !== 'trusted' ? h('span', { class: 'untrusted', 'data-testid': 'memory-untrusted' }, `⚠ ${trustLabels[item.trust]}`) : null,
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            'data-testid': 'memory-edit',
            title: ours ? 'Edit this entry' : 'Write an edited copy as a new entry of yours (the original stays)',
            onclick: () => editor(item, row),
          },
          ours ? 'Edit' : 'Edit as mine',
        ),
        removable ? h('button', { type: 'button', class: 'link danger', 'data-testid': 'memory-delete', onclick: () => void node.memory.remove(item.id).catch(report) }, 'Delete') : null,
      ),
    )
    return row
  }

  // Rows are keyed by entry and rebuilt only when their entry changes: a busy room costs a few
  // DOM nodes per update, not the whole list.
  const rows = new Map<string, { item: MemoryItem; row: HTMLElement }>()
  const rowOf = (item: MemoryItem): HTMLElement => {
    const known = rows.get(item.id)
    if (known && sameItem(known.item, item)) return known.row
    const row = itemRow(item)
    rows.set(item.id, { item, row })
    return row
  }
  // With memory search on, a query is answered by the store's hybrid search (the query is
  // embedded in the worker); only the latest answer is drawn.
  let hybrid: { query: string; items: MemoryItem[] } | null = null
  let asked = 0
  const askHybrid = (): void => {
    const text = query.value.trim()
    if (!text || memorySearch.state().phase !== 'on') {
      hybrid = null
      return
    }
    const ticket = ++asked
    node.memory.search(text, { k: hybridShown }).then((hits) => {
      if (ticket !== asked) return
      hybrid = { query: text, items: hits }
      render()
    }, report)
  }
  const render = (): void => {
    refusals.textContent = refusalsText(node)
    if (editing !== null && node.memory.items().some((item) => item.id === editing)) return
    const all = node.memory.items()
    const text = query.value.trim()
    const shown = !text ? all : hybrid?.query === text ? hybrid.items : search(all, query.value)
    const visible = shown.slice(0, maxShown)
    const keep = new Set(visible.map((item) => item.id))
    for (const id of rows.keys()) if (!keep.has(id)) rows.delete(id)
    if (visible.length === 0) {
      list.replaceChildren(h('li', { class: 'empty' }, query.value.trim() ? 'Nothing matches.' : 'Nothing remembered yet.'))
      return
    }
    const wanted = visible.map(rowOf)
    if (shown.length > maxShown) wanted.push(h('li', { class: 'empty' }, `… and ${shown.length - maxShown} more: search to narrow down.`))
    reconcile(list, wanted)
  }
  query.addEventListener('input', () => {
    askHybrid()
    render()
  })
  const rerender = onPacedFrame(render)
  const stops = [node.on('memory', () => (askHybrid(), rerender())), node.memory.on('refused', rerender), node.room.on('drop', rerender), stopStorage, stopSwitch, memorySearch.on('state', askHybrid)]
  render()
  return () => {
    for (const stop of stops) stop()
  }
}
