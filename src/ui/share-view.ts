import { maxTextLength } from '../memory/entry'
import { h } from './dom'

/** What can be done with a shared item or an opened file. */
export interface ShareActions {
  /** Saves it as one entry of the room's memory. */
  save(text: string): Promise<void>
  /** Puts it in the chat and sends it on the swarm route. */
  ask(text: string): void
  /** Hands it to "Summarize with the swarm". */
  summarize(text: string): void
}

export type ShareUse = keyof ShareActions

/** The swarm summarizes documents up to this many characters (a map task per 1 500). */
export const maxSummarizeChars = 200_000

const limits: Record<ShareUse, number> = { save: maxTextLength, ask: maxTextLength, summarize: maxSummarizeChars }

/** Why `text` cannot be used so, in words for the user; null when it can. */
export function shareProblem(text: string, use: ShareUse): string | null {
  if (text.trim() === '') return 'Nothing was shared: the item has no text or link.'
  const limit = limits[use]
  if (text.length <= limit) return null
  const size = `${text.length.toLocaleString('en')} characters`
  if (use === 'summarize') return `Too long to summarize: ${size}, the limit is ${limit.toLocaleString('en')}.`
  return `Too long for one ${use === 'save' ? 'memory entry' : 'question'}: ${size}, the limit is ${limit.toLocaleString('en')}. Summarize it with the swarm instead.`
}

/**
 * The dialog a shared item opens in: the text (editable) and what to do with it. A use the
 * text does not fit is disabled, with the reason shown.
 */
export function openShareDialog(root: HTMLElement, text: string, actions: ShareActions, report: (error: unknown) => void): HTMLDialogElement {
  const input = h('textarea', { rows: 6, 'aria-label': 'shared text', 'data-testid': 'share-text' })
  input.value = text
  const problem = h('p', { class: 'share-problem', role: 'status', 'data-testid': 'share-problem' })
  const buttons: Record<ShareUse, HTMLButtonElement> = {
    save: h('button', { type: 'button', 'data-testid': 'share-save' }, 'Save to memory'),
    ask: h('button', { type: 'button', 'data-testid': 'share-ask' }, 'Ask the swarm'),
    summarize: h('button', { type: 'button', 'data-testid': 'share-summarize' }, 'Summarize with the swarm'),
  }
  const close = h('button', { type: 'button', class: 'link', 'data-testid': 'share-close' }, 'Dismiss')
  const dialog = h(
    'dialog',
    { class: 'share-dialog', 'data-testid': 'share-dialog', 'aria-labelledby': 'share-title' },
    h('h2', { id: 'share-title' }, 'Shared with this room'),
    input,
    problem,
    h('div', { class: 'row' }, buttons.save, buttons.ask, buttons.summarize, h('span', { class: 'spacer' }), close),
  )
  const check = (): void => {
    const problems = (Object.keys(buttons) as ShareUse[]).map((use) => {
      const found = shareProblem(input.value, use)
      buttons[use].disabled = found !== null
      return found
    })
    problem.textContent = problems.find((found) => found !== null) ?? ''
  }
  input.addEventListener('input', check)
  check()
  const done = (): void => {
    dialog.close()
    dialog.remove()
  }
  close.addEventListener('click', done)
  buttons.save.addEventListener('click', () => {
    buttons.save.disabled = true
    actions.save(input.value.trim()).then(done, (error: unknown) => {
      report(error)
      check()
    })
  })
  buttons.ask.addEventListener('click', () => {
    actions.ask(input.value.trim())
    done()
  })
  buttons.summarize.addEventListener('click', () => {
    actions.summarize(input.value.trim())
    done()
  })
  root.append(dialog)
  dialog.showModal()
  return dialog
}

/**
 * Asks `text` in the chat on the swarm route, through the chat view's own form, so the
 * answer is kept in the conversation like any other.
 */
export function askInChat(chat: HTMLElement, text: string): void {
  const input = chat.querySelector<HTMLTextAreaElement>('[data-testid=chat-input]')
  const route = chat.querySelector<HTMLSelectElement>('[data-testid=chat-route]')
  const form = input?.closest('form')
  if (!input || !form) throw new Error('the chat box is not on this page')
  if (route) route.value = 'swarm'
  input.value = text
  form.requestSubmit()
}
