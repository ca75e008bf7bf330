import type { ServeMode } from '../shared/protocol'

/**
 * What this node runs for the room's other members, on the user's terms: `mode` says whether it
 * serves at all (`idle`: only while its own tab runs nothing), and two limits per member keep
 * one poster from taking the whole engine. Over a limit the executor does not bid on that
 * member's task, so another peer gets it. The node's own tasks are not limited.
 */
export interface ServePolicy {
  mode: ServeMode
  /** Awards run for one member in any minute, bids not decided yet included. */
  tasksPerMinute: number
  /** One member's tasks this node has bid on or runs at once. */
  concurrentPerMember: number
}

/**
 * The market's behaviour when the node is given no policy (the relay's gateway, simulations):
 * it serves always and keeps only the cap it always had on one member's open tasks.
 */
export const unlimitedServe: ServePolicy = { mode: 'always', tasksPerMinute: Number.POSITIVE_INFINITY, concurrentPerMember: 8 }

export const rateWindowMs = 60_000

/** Whether a peer's presence lets it be awarded a task: a node that said `off` would not run it. */
export function servesPeers(peer: { serve?: ServeMode | undefined }): boolean {
  return peer.serve !== 'off'
}
