import { EdgeswarmError, registerError } from '../shared/errors'

/** A task could not finish: no capable peer bid, its deadline passed, or its job failed. */
export class TaskFailedError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'TaskFailedError'
}

/** A member of the room kept deleting (or replacing) the task; its poster gave up re-posting it. */
export class TaskDeletedError extends TaskFailedError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'TaskDeletedError'
}

/** The market node was destroyed (its tab closed, its relay stopped): what it still owed ends with this. */
export class MarketClosedError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'MarketClosedError'
}

/** A plan that cannot run (not a DAG, too big, no final step), or a plan whose steps failed: the message says which rule or step. */
export class PlanError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'PlanError'
}

/** An embedding task was awarded to a node whose embedding model was unloaded (or changed) since it bid. */
export class EmbedderGoneError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'EmbedderGoneError'
}
