import type { Unsubscribe } from '../shared/events'
import type { UpdateState } from '../shared/update-flow'
import { h } from './dom'

/** What the bar needs of the update flow (`UpdateFlow`). */
export interface UpdatePrompt {
  readonly state: UpdateState
  on(event: 'state', listener: (state: UpdateState) => void): Unsubscribe
  applyNow(): void
}

const texts: Record<Exclude<UpdateState, 'current'>, string> = {
  ready: 'A new version is ready — reload',
  applying: 'Updating to the new version…',
  active: 'A new version is active — this tab reloads when it is done, or now',
}

/**
 * A small bar under the header while a new version waits: it never blocks the page, and the
 * update is applied only when the user presses Reload or no tab is busy (`UpdateFlow`).
 */
export function mountUpdateBar(after: HTMLElement, prompt: UpdatePrompt): Unsubscribe {
  const text = h('span', { 'data-testid': 'update-text' })
  const reload = h('button', { type: 'button', 'data-testid': 'update-reload' }, 'Reload')
  reload.addEventListener('click', () => prompt.applyNow())
  const bar = h('div', { class: 'update-bar', role: 'status', 'data-testid': 'update-bar', hidden: true }, text, reload)
  after.after(bar)
  const render = (state: UpdateState): void => {
    bar.hidden = state === 'current'
    bar.dataset.state = state
    text.textContent = state === 'current' ? '' : texts[state]
    reload.hidden = state === 'applying'
  }
  render(prompt.state)
  return prompt.on('state', render)
}
