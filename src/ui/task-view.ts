import * as Y from 'yjs'
import { statusOf, TaskReader } from '../market/task-doc'
import { h, onNextFrame, shortId } from './dom'

const shown = 12

interface TaskRow {
  id: string
  status: string
  poster: string
  executor: string
  epoch: number
  createdAt: number
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined
}

const reader = new TaskReader()

/**
 * What the doc says of a task, read leniently: this view only displays, it decides nothing
 * (the market itself acts only on the poster's and executor's verified signatures).
 */
function rowOf(id: string, task: unknown): TaskRow | null {
  if (!(task instanceof Y.Map)) return null
  const get = (key: string): unknown => task.get(key)
  const spec = get('spec')
  const award = get('award')
  const text = (value: unknown): string => (typeof value === 'string' ? value : '')
  const number = (value: unknown): number => (typeof value === 'number' ? value : 0)
  return { id, status: statusOf(reader, task, id), poster: text(field(spec, 'poster')), executor: text(field(award, 'executor')), epoch: number(field(award, 'epoch')), createdAt: number(field(spec, 'createdAt')) }
}

/** The market live: each task's status, who posted it, who runs it, and re-awards. */
export function mountTaskView(root: HTMLElement, doc: Y.Doc, selfId: string): () => void {
  const tasks = doc.getMap<unknown>('tasks')
  const log = doc.getArray<unknown>('log')
  const list = h('ul', { class: 'tasks', 'data-testid': 'tasks' })
  const summary = h('div', { class: 'peer-detail', 'data-testid': 'task-log' })
  root.append(h('h3', {}, 'Tasks'), list, summary)
  const who = (nodeId: string): string => (nodeId === selfId ? 'me' : nodeId ? shortId(nodeId) : '…')
  const render = onNextFrame(() => {
    const rows = [...tasks.entries()].flatMap(([id, task]) => rowOf(id, task) ?? []).sort((a, b) => b.createdAt - a.createdAt).slice(0, shown)
    list.replaceChildren(
      ...(rows.length
        ? rows.map((row) =>
            h(
              'li',
              { class: `task ${row.status}`, 'data-testid': 'task', 'data-task-id': row.id, 'data-status': row.status, 'data-executor': row.executor },
              h('code', {}, row.id.slice(0, 6)),
              ` ${row.status} · from ${who(row.poster)}`,
              row.executor ? ` · run by ${who(row.executor)}` : '',
              row.epoch > 1 ? h('span', { class: 'warn' }, ` · reassigned (epoch ${row.epoch})`) : '',
            ),
          )
        : [h('li', { class: 'empty' }, 'No tasks yet.')]),
    )
    summary.textContent = log.length ? `${log.length} finished tasks in the log` : ''
  })
  tasks.observeDeep(render)
  log.observe(render)
  render()
  return () => {
    tasks.unobserveDeep(render)
    log.unobserve(render)
  }
}
