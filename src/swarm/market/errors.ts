import { EdgeswarmError } from '../../shared/errors'

/** A task could not finish: no capable peer bid, its deadline passed, or its job failed. */
export class TaskFailedError extends EdgeswarmError {
  override name = 'TaskFailedError'
}
