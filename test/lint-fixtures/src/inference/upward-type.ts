// An upward import of a type only: still an upward import.
import type { Task } from '../market/task'

export type Upward = Task
