import type { MarketNode } from '../market'
import { plural } from '../shared/text'
import { h, KeyedRows, onNextFrame, reconcile, shortId } from './dom'

const shown = 12

/** What the task view reads of the market: its tasks and log, and when they change. */
export type TaskBoard = Pick<MarketNode, 'tasks' | 'loggedCount' | 'on'>

/**
 * The market live: each task's status, who posted it, who runs it, and re-awards. It displays
 * what the tasks' records say and decides nothing (the market acts only on verified signatures).
 */
export function mountTaskView(root: HTMLElement, market: TaskBoard, selfId: string): () => void {
  const list = h('ul', { class: 'tasks', 'data-testid': 'tasks' })
  const summary = h('div', { class: 'peer-detail', 'data-testid': 'task-log' })
  root.append(h('h3', {}, 'Tasks'), list, summary)
  const who = (nodeId: string): string => (nodeId === selfId ? 'me' : nodeId ? shortId(nodeId) : '…')
  type Row = ReturnType<TaskBoard['tasks']>[number]
  // A task's row is rebuilt only when what it shows changed: the market tells of every change of any task.
  const rows = new KeyedRows<Row>(
    (row) =>
      h(
        'li',
        { class: `task ${row.status}`, 'data-testid': 'task', 'data-task-id': row.id, 'data-status': row.status, 'data-executor': row.executor ?? '' },
        h('code', {}, row.id.slice(0, 6)),
        ` ${row.status} · from ${who(row.poster)}`,
        row.executor ? ` · run by ${who(row.executor)}` : '',
        row.epoch > 1 ? h('span', { class: 'warn' }, ` · reassigned (epoch ${row.epoch})`) : '',
      ),
    (row) => JSON.stringify([row.status, row.poster, row.executor ?? '', row.epoch]),
  )
  const render = onNextFrame(() => {
    const tasks = market.tasks().slice(0, shown)
    const elements = rows.elements(tasks, (row) => row.id)
    if (elements.length) reconcile(list, elements)
    else list.replaceChildren(h('li', { class: 'empty' }, 'No tasks yet.'))
    const logged = market.loggedCount()
    summary.textContent = logged ? `${plural(logged, 'finished task', 'finished tasks')} in the log` : ''
  })
  const stop = market.on('change', render)
  render()
  return stop
}
