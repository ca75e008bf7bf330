import * as Y from 'yjs'
import type { TaskStatus } from './schema'
import { statusOf, type TaskReader } from './task-doc'

/**
 * One task of the room as the market shows it: its records read through their schemas but
 * unverified. For display only: the market itself acts on verified signatures alone.
 */
export interface TaskView {
  id: string
  status: TaskStatus
  /** The poster's node id; '' when the task's spec is missing or malformed. */
  poster: string
  /** The executor of its latest award; null before the first. */
  executor: string | null
  /** Its latest award's epoch (a re-award is epoch + 1); 0 before the first. */
  epoch: number
  /** The start of the request's last user message. */
  promptPreview: string
  /** When it was posted, by its poster's clock; 0 when unknown. */
  createdAt: number
  /** When its poster closed it, by the poster's clock; null while it is open. */
  closedAt: number | null
  /** The nodes whose bids are in it (unverified). */
  bidders: string[]
}

const previewChars = 80

export function taskViewOf(reader: TaskReader, taskId: string, task: unknown): TaskView | null {
  if (!(task instanceof Y.Map)) return null
  const spec = reader.spec(task, taskId)
  const award = reader.award(task, taskId)
  const close = reader.close(task, taskId)
  const lastUser = spec?.request.messages.findLast((message) => message.role === 'user')
  return {
    id: taskId,
    status: statusOf(reader, task, taskId),
    poster: spec?.poster ?? '',
    executor: award?.executor ?? null,
    epoch: award?.epoch ?? 0,
    promptPreview: lastUser?.content.slice(0, previewChars) ?? '',
    createdAt: spec?.createdAt ?? 0,
    closedAt: close?.at ?? null,
    bidders: reader.bids(task, taskId).map((bid) => bid.bidder),
  }
}

/** Every task of the room, newest first. */
export function taskViews(reader: TaskReader, tasks: Y.Map<unknown>): TaskView[] {
  return [...tasks.entries()].flatMap(([id, task]) => taskViewOf(reader, id, task) ?? []).sort((a, b) => b.createdAt - a.createdAt)
}
