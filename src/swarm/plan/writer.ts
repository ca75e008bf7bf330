import { splitThinking } from '../../inference/think'
import type { ChatRequest } from '../../inference/types'
import { PlanError } from '../../market/errors'
import { UnsupportedRequestError } from '../../shared/errors'
import { planJsonSchema, roles, validatePlan, writtenIds, type Plan } from '../../market/plan'
import type { ChatRouter, RouteChoice } from '../routing/chat-router'

/** Room for a plan of eight steps with 300-character prompts, and no more. */
const writerTokens = 1_536

/** The queen's request: the goal, the roles, the rules, and the plan's JSON schema for constrained decoding. */
export function planRequest(goal: string, maxSteps: number): ChatRequest {
  const ids = writtenIds(maxSteps)
  const system = [
    'You are the planner of a team of small language models. Break the goal into steps for the team and answer with the plan as JSON only.',
    `Roles: ${roles.join(', ')}. A researcher gathers facts, an analyst reasons over them, a coder writes code, a critic checks work, a writer writes the final answer.`,
    `Rules: at most ${maxSteps} steps, with ids ${ids[0] ?? 's1'} to ${ids.at(-1) ?? 's1'} in order; each step's dependsOn lists the earlier steps whose results it needs; steps with no dependency between them run at the same time; the last step is one writer step that depends on the others.`,
  ].join('\n')
  return {
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: `Goal: ${goal}` },
    ],
    response_format: { type: 'json_schema', json_schema: { name: 'plan', schema: planJsonSchema(maxSteps), strict: true } },
    max_tokens: writerTokens,
    enable_thinking: false,
  }
}

/** The JSON value in a model's answer: the whole answer, or its outermost braces. PlanError if there is none. */
export function planJsonOf(answer: string): unknown {
  const text = splitThinking(answer).answer.trim()
  const start = text.indexOf('{')
  const end = text.lastIndexOf('}')
  for (const candidate of [text, start >= 0 && end > start ? text.slice(start, end + 1) : '']) {
    if (!candidate) continue
    try {
      return JSON.parse(candidate) as unknown
    } catch {
      // The next candidate, or the refusal below.
    }
  }
  const preview = text.slice(0, 80).replace(/\s+/g, ' ')
  throw new PlanError(`plan refused: the planner's answer is not JSON (${text.length} characters${preview ? `: "${preview}${text.length > 80 ? '…' : ''}"` : ''})`)
}

export interface WrittenPlan {
  plan: Plan
  /** Who wrote it: this node's id, a peer's, or 'relay'. */
  writer: string
}

/**
 * Asks a model (where the router sends it: here, a peer, or the relay) for a plan under the plan
 * schema, and validates what comes back: a plan that can run (a final writer step added where it
 * lacks one), or PlanError with the reason. Never anything else from the model's text.
 */
export async function writePlan(router: Pick<ChatRouter, 'route'>, goal: string, maxSteps: number, route: RouteChoice, signal?: AbortSignal): Promise<WrittenPlan> {
  const request = planRequest(goal, maxSteps)
  let written: { text: string; writer: string }
  try {
    written = await answerOf(router, request, route, signal)
  } catch (error) {
    if (!(error instanceof UnsupportedRequestError)) throw error
    // An engine without constrained decoding (a peer's, the relay's, for now) still gets asked: the
    // prompt describes the plan, and the validator is the guard either way.
    const { response_format: _constrained, ...unconstrained } = request
    written = await answerOf(router, unconstrained, route, signal)
  }
  return { plan: validatePlan(planJsonOf(written.text), { maxSteps, addFinal: true }), writer: written.writer }
}

async function answerOf(router: Pick<ChatRouter, 'route'>, request: ChatRequest, route: RouteChoice, signal: AbortSignal | undefined): Promise<{ text: string; writer: string }> {
  const answer = await router.route(request, route, signal)
  let text = ''
  for await (const chunk of answer.chunks) text += chunk.choices[0].delta.content ?? ''
  return { text, writer: answer.answeredBy() }
}
