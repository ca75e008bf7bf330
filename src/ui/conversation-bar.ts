import { conversationToMarkdown, conversationsFromFile, conversationsToJson } from '../memory/conversation-file'
import type { Conversations } from '../memory/conversations'
import type { StoredConversation } from '../memory/local-db'
import { plural } from '../shared/text'
import { askInPage } from './dialog'
import { h } from './dom'

export interface ConversationBarDeps {
  conversations: Conversations
  /** The conversation open in the chat. */
  current: () => StoredConversation
  open: (conversation: StoredConversation) => void
  /** Opens a new, empty conversation. */
  fresh: () => void
  report: (error: unknown) => void
}

export interface ConversationBar {
  element: HTMLElement
  /** Lists the conversations again (after a save). */
  refresh: () => Promise<void>
  /** Moves the focus to the title search (its shortcut). */
  focusSearch: () => void
}

function fileName(conversation: StoredConversation, extension: string): string {
  const slug =
    conversation.title
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'conversation'
  return `${slug}.edgeswarm.${extension}`
}

function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const link = h('a', { href: url, download: name, hidden: true })
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/**
 * The conversations of this profile: search by title, open, rename, delete (after asking),
 * export (JSON, Markdown) and import (either), with what is wrong in a bad file said in place.
 */
export function mountConversationBar(deps: ConversationBarDeps): ConversationBar {
  const { conversations, report } = deps
  const search = h('input', { type: 'search', placeholder: 'Search titles', 'aria-label': 'Search conversations by title', 'aria-keyshortcuts': '/ Control+K', 'data-testid': 'chat-search' })
  const list = h('ul', { class: 'chat-list', 'data-testid': 'chat-list', 'aria-label': 'conversations' })
  const count = h('span', { class: 'muted', 'data-testid': 'chat-count' })
  const problem = h('p', { class: 'chat-file-error', role: 'alert', 'data-testid': 'chat-file-error', hidden: true })
  const fileInput = h('input', { type: 'file', accept: '.json,.md,.markdown,application/json,text/markdown', hidden: true, 'data-testid': 'chat-import-file' })
  const button = (testId: string, label: string, title: string, onclick: () => Promise<void> | void): HTMLButtonElement =>
    h('button', { type: 'button', 'data-testid': testId, title, onclick: () => void Promise.resolve(onclick()).catch(report) }, label)

  const refresh = async (): Promise<void> => {
    const current = deps.current()
    const found = await conversations.search(search.value)
    const shown = current.messages.length && !found.some((item) => item.id === current.id) && !search.value.trim() ? [current, ...found] : found
    count.textContent = search.value.trim() ? plural(found.length, 'match', 'matches') : plural(shown.length, 'conversation', 'conversations')
    list.replaceChildren(
      ...shown.map((item) =>
        h(
          'li',
          { 'data-testid': 'chat-item', 'data-id': item.id },
          h('button', { type: 'button', class: 'link', 'data-testid': 'chat-open', 'aria-current': item.id === current.id ? 'true' : false, onclick: () => openById(item.id) }, item.title),
        ),
      ),
    )
  }
  const openById = (id: string): void => {
    conversations.get(id).then((found) => found && deps.open(found), report)
  }
  const showProblem = (message: string): void => {
    problem.textContent = message
    problem.hidden = message === ''
  }

  const rename = async (): Promise<void> => {
    const current = deps.current()
    const title = await askInPage({ title: 'Rename conversation', value: current.title, label: 'Title', confirm: 'Rename' })
    if (title === null) return
    await conversations.rename(current, title)
    await refresh()
  }
  const remove = async (): Promise<void> => {
    const current = deps.current()
    const yes = await askInPage({
      title: 'Delete conversation?',
      message: `"${current.title}" and its ${plural(current.messages.length, 'message', 'messages')} are deleted from this device.`,
      confirm: 'Delete',
      danger: true,
    })
    if (yes === null) return
    await conversations.remove(current.id)
    const [next] = await conversations.recent(1)
    if (next) deps.open(next)
    else deps.fresh()
  }
  const importFile = async (): Promise<void> => {
    const file = fileInput.files?.[0]
    fileInput.value = ''
    if (!file) return
    try {
      const stored = await conversations.import(conversationsFromFile(file.name, await file.text()))
      showProblem('')
      const [first] = stored
      if (first) deps.open(first)
    } catch (error) {
      showProblem(`${file.name} was not imported: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  fileInput.addEventListener('change', () => void importFile().catch(report))
  search.addEventListener('input', () => void refresh().catch(report))

  const element = h(
    'details',
    { class: 'conversations', 'data-testid': 'conversations' },
    h('summary', {}, 'Conversations ', count),
    h('div', { class: 'row' }, search),
    list,
    h(
      'div',
      { class: 'row' },
      button('chat-rename', 'Rename', 'Rename this conversation', rename),
      button('chat-export-json', 'Export JSON', 'Save this conversation as JSON (imports back exactly)', () => {
        const current = deps.current()
        download(fileName(current, 'json'), 'application/json', conversationsToJson([current]))
      }),
      button('chat-export-md', 'Export Markdown', 'Save this conversation as Markdown', () => {
        const current = deps.current()
        download(fileName(current, 'md'), 'text/markdown', conversationToMarkdown(current))
      }),
      button('chat-import', 'Import…', 'Open a conversation exported as JSON or Markdown', () => fileInput.click()),
      button('chat-delete', 'Delete', 'Delete this conversation from this device', remove),
      fileInput,
    ),
    problem,
  )
  return {
    element,
    refresh,
    focusSearch: () => {
      element.open = true
      search.focus()
    },
  }
}
