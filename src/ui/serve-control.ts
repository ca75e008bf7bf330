// "Serve peers" in the header: whether this node runs the room's tasks for others, and how much
// of one member's work it takes (src/market/serve.ts). Changes apply at once and are remembered.
import type { ServeSettings } from '../memory/settings'
import type { ServeMode } from '../shared/protocol'
import { h } from './dom'

const modeLabels: Record<ServeMode, string> = { off: 'off', idle: 'when this tab is idle', always: 'always' }

export interface ServeControlStore {
  current: ServeSettings
  /** Applies the terms (presence, market) and keeps them in this profile. */
  save(next: ServeSettings): void
}

function numberInput(testId: string, value: number, max: number): HTMLInputElement {
  return h('input', { type: 'number', min: 1, max, step: 1, value, 'data-testid': testId, class: 'serve-number' })
}

export function mountServeControl(header: HTMLElement, store: ServeControlStore): void {
  let current = store.current
  const mode = h(
    'select',
    { 'data-testid': 'serve-mode', id: 'serve-mode' },
    ...(['off', 'idle', 'always'] as const).map((value) => h('option', { value, selected: current.mode === value }, modeLabels[value])),
  )
  const rate = numberInput('serve-rate', current.tasksPerMinute, 600)
  const concurrent = numberInput('serve-concurrent', current.concurrentPerMember, 16)
  const apply = (): void => {
    const next: ServeSettings = {
      mode: mode.value === 'off' || mode.value === 'always' ? mode.value : 'idle',
      tasksPerMinute: clampInt(rate.valueAsNumber, 1, 600, current.tasksPerMinute),
      concurrentPerMember: clampInt(concurrent.valueAsNumber, 1, 16, current.concurrentPerMember),
    }
    rate.value = String(next.tasksPerMinute)
    concurrent.value = String(next.concurrentPerMember)
    current = next
    store.save(next)
  }
  for (const input of [mode, rate, concurrent]) input.addEventListener('change', apply)
  header.append(
    h(
      'span',
      { class: 'serve', 'data-testid': 'serve-control' },
      h('label', { for: 'serve-mode', title: 'whether this device runs the tasks of the room’s other members on its model' }, 'Serve peers '),
      mode,
      h('details', { class: 'serve-limits' }, h('summary', {}, 'limits'), h('label', {}, 'tasks per minute per member ', rate), h('label', {}, 'at once per member ', concurrent)),
    ),
  )
}

function clampInt(value: number, min: number, max: number, fallback: number): number {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, Math.round(value))) : fallback
}
