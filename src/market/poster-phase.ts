/**
 * The poster's phase: restoring its award after a restart, collecting bids (no award in force),
 * signing an award, waiting on the awarded executor; then, exactly once, one of the ends it
 * writes as its signed close (done, failed, cancelled), or `closed`: this node stopped (its
 * market was destroyed) and left the doc as it was, for a restart to take it up again.
 */
export type PosterPhase = 'restoring' | 'bidding' | 'awarding' | 'running' | 'done' | 'failed' | 'cancelled' | 'closed'

/** Where each phase may go next; PostedTask's `#enter` checks every change against it. */
export const nextPhases: Record<PosterPhase, readonly PosterPhase[]> = {
  restoring: ['bidding', 'running', 'done', 'failed', 'cancelled', 'closed'],
  // bidding → bidding: the task was deleted and is posted again.
  bidding: ['bidding', 'awarding', 'failed', 'cancelled', 'closed'],
  awarding: ['running', 'bidding', 'failed', 'cancelled', 'closed'],
  running: ['bidding', 'done', 'failed', 'cancelled', 'closed'],
  done: [],
  failed: [],
  cancelled: [],
  closed: [],
}

export const endPhases: ReadonlySet<PosterPhase> = new Set(['done', 'failed', 'cancelled', 'closed'])
