// The job tools: a document fanned out over a room's browser nodes (one task per part, in
// parallel, then one that combines them), and a plan run on the room's market (src/market/plan).
// Each posts through the relay's room peer, cancels its tasks when the caller goes away, and
// charges what the tasks report against the caller's day budget.
import { PlanError, splitText, type TaskHandle, type TaskResult } from '../../market'
import { fanOut, type JobHost } from '../../market/jobs'
import { PlanRun, validatePlan, type Plan } from '../../market/plan'
import { AbortError } from '../../shared/errors'
import { roughUsage } from '../../shared/openai'
import type { JoinedRoom } from '../gateway/backend'
import { McpToolError, type McpDeps } from './deps'
import { joinedRoom } from './rooms'

/** A room's market, with every task it posts kept to be cancelled and charged. */
interface TrackedHost {
  host: JobHost
  /** Tokens the tasks reported (an estimate where one said none). */
  spent(): number
  cancelAll(): void
}

function trackedHost(room: JoinedRoom, signal: AbortSignal): TrackedHost {
  const handles: TaskHandle[] = []
  let spent = 0
  const count = (result: TaskResult, inputChars: number): void => {
    const usage = result.usage ?? roughUsage(inputChars, result.text.length)
    spent += usage.prompt_tokens + usage.completion_tokens
  }
  const cancelAll = (): void => {
    for (const handle of handles) handle.cancel('cancelled: the MCP client that asked for it went away')
  }
  signal.addEventListener('abort', cancelAll, { once: true })
  return {
    host: {
      submit(request, requirements, links) {
        if (signal.aborted) throw new AbortError('the MCP client went away')
        const handle = room.market.submit(request, requirements, links)
        handles.push(handle)
        const inputChars = request.messages.reduce((sum, message) => sum + (typeof message.content === 'string' ? message.content.length : 0), 0)
        handle.result.then(
          (result) => count(result, inputChars),
          () => undefined,
        )
        return handle
      },
      recordVote: (jobId, answers, winners, outvoted) => room.market.recordVote(jobId, answers, winners, outvoted),
      newId: () => room.market.newId(),
    },
    spent: () => spent,
    cancelAll,
  }
}

/** The joined room with a ready peer to run tasks, or a tool error saying what to do. */
async function roomWithPeers(deps: McpDeps, name: string, signal: AbortSignal): Promise<JoinedRoom> {
  const room = await joinedRoom(deps, name, signal)
  if (!(await room.waitForReadyPeer(deps.peerWaitMs, signal))) {
    throw new McpToolError(`no node with a ready model is in room ${room.name}: open the app at /?room=${room.name} with its key and a model, then call again`)
  }
  return room
}

/** Runs `job` on `room`'s market for `caller`: reserves `boundTokens` of the day, settles at what the tasks reported, cancels them all if it ends early. */
async function runJob<T>(deps: McpDeps, caller: string, room: JoinedRoom, boundTokens: number, signal: AbortSignal, job: (host: JobHost) => Promise<T>): Promise<T> {
  const reservation = deps.access.reserve(caller, boundTokens)
  const tracked = trackedHost(room, signal)
  try {
    return await job(tracked.host)
  } catch (error) {
    tracked.cancelAll()
    if (signal.aborted) throw new AbortError('the MCP client went away')
    throw error
  } finally {
    reservation.settle(tracked.spent())
  }
}

export interface FanOutArgs {
  room: string
  document: string
  /** What each part's task does with its part (its system prompt). */
  instruction: string
  /** What the last task does with the parts' answers, in order. */
  combine: string
  chunk_chars: number
  max_tokens: number
}

export interface FannedOut {
  text: string
  parts: { executor: string; text: string }[]
  combinedBy: string
}

/** Parts at most: a document is split so that no more tasks than this are posted. */
export const maxParts = 32

/** The schema holds max_tokens to the cap too; this holds callers that skip it. */
function checkMaxTokens(deps: McpDeps, maxTokens: number): void {
  if (maxTokens > deps.caps.maxTokens) throw new McpToolError(`max_tokens is ${maxTokens}, at most ${deps.caps.maxTokens} on this relay (RELAY_MAX_TOKENS)`)
}

/** A bound on the tokens of `text` for the budget's reservation: never more tokens than UTF-8 bytes, plus template slack. */
const tokenBound = (text: string): number => Buffer.byteLength(text, 'utf8') + 32

export async function fanOutDocument(deps: McpDeps, caller: string, args: FanOutArgs, signal: AbortSignal): Promise<FannedOut> {
  const parts = splitText(args.document, args.chunk_chars)
  if (parts.length === 0) throw new McpToolError('the document is empty')
  if (parts.length > maxParts) throw new McpToolError(`the document splits into ${parts.length} parts of ${args.chunk_chars} characters, over ${maxParts}: raise chunk_chars or send less`)
  checkMaxTokens(deps, args.max_tokens)
  const room = await roomWithPeers(deps, args.room, signal)
  const bound = parts.reduce((sum, part) => sum + tokenBound(part) + tokenBound(args.instruction), 0) + tokenBound(args.combine) + (2 * parts.length + 1) * args.max_tokens
  const result = await runJob(deps, caller, room, bound, signal, (host) =>
    fanOut(host, args.document, {
      chunkChars: args.chunk_chars,
      mapPrompt: args.instruction,
      reducePrompt: args.combine,
      maxTokens: args.max_tokens,
    }),
  )
  return { text: result.text, parts: result.parts.map((part) => ({ executor: part.executor, text: part.text })), combinedBy: result.reduce.executor }
}

export interface PlanArgs {
  room: string
  goal: string
  plan: unknown
  max_tokens: number
}

export interface PlanOutcome {
  text: string
  steps: { id: string; role: string; state: string; executor: string | null; output: string }[]
}

export async function runPlan(deps: McpDeps, caller: string, args: PlanArgs, signal: AbortSignal): Promise<PlanOutcome> {
  let plan: Plan
  try {
    plan = validatePlan(args.plan, { addFinal: false })
  } catch (error) {
    throw new McpToolError(error instanceof Error ? error.message : String(error))
  }
  checkMaxTokens(deps, args.max_tokens)
  const room = await roomWithPeers(deps, args.room, signal)
  // Each step reads the goal, its prompt and its inputs' answers (each at most max_tokens).
  const bound = plan.steps.reduce((sum, step) => sum + tokenBound(args.goal) + tokenBound(step.prompt) + (step.dependsOn.length + 1) * args.max_tokens, 0)
  let run: PlanRun | null = null
  try {
    const text = await runJob(deps, caller, room, bound, signal, (host) => {
      run = new PlanRun(host, plan, args.goal, { maxTokens: args.max_tokens, signal, onError: (error) => deps.log.warn('mcp plan listener failed', { error }) })
      return run.result
    })
    return { text, steps: stepsOf(run) }
  } catch (error) {
    if (error instanceof PlanError) throw new McpToolError(`${error.message}; steps: ${JSON.stringify(stepsOf(run))}`)
    throw error
  }
}

function stepsOf(run: PlanRun | null): PlanOutcome['steps'] {
  return (run?.steps() ?? []).map((step) => ({ id: step.id, role: step.role, state: step.state, executor: step.executor, output: step.output }))
}
