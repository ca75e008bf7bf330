export interface ChatShortcuts {
  /** The chat box: Enter (or Ctrl/⌘+Enter) sends, Shift+Enter is a new line. */
  input: HTMLTextAreaElement
  send: () => void
  /** Stops the streaming answer; false when none runs (the key is left to others). */
  stop: () => boolean
  newChat: () => void
  focusSearch: () => void
}

/** The shortcuts as one help line for the chat. */
export const shortcutHelp = 'Enter send · Shift+Enter new line · Esc stop · Alt+N new chat · / or Ctrl+K search conversations'

function typingIn(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement)
}

/**
 * The chat's keyboard shortcuts. Keys that type text ("/") act only outside text fields; the
 * others use a modifier, or (Escape) act only while an answer streams and no dialog is open.
 */
export function bindChatShortcuts(keys: ChatShortcuts): void {
  keys.input.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return
    event.preventDefault()
    keys.send()
  })
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.isComposing) return
    const modal = document.querySelector('dialog[open]') !== null
    if (event.key === 'Escape' && !modal) {
      if (keys.stop()) event.preventDefault()
    } else if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === 'KeyN' && !modal) {
      event.preventDefault()
      keys.newChat()
    } else if (
      ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'k') ||
      (event.key === '/' && !typingIn(event.target) && !event.ctrlKey && !event.metaKey && !event.altKey)
    ) {
      if (modal) return
      event.preventDefault()
      keys.focusSearch()
    }
  })
}
