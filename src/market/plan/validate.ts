import * as v from 'valibot'
import { PlanError } from '../errors'
import { maxPlanSteps, PlanShapeSchema, type Plan, type PlanStep } from './schema'

export interface PlanLimits {
  /** At most this many steps, the final writer step included; capped at `maxPlanSteps`. */
  maxSteps?: number
  /** Whether a plan without one final writer step gets one (a written plan), or is refused (a given one). */
  addFinal?: boolean
}

const finalPrompt = 'Write the final answer to the goal, using the results of the steps before.'

/**
 * The plan if it can run: a DAG of at most `maxSteps` steps, ids unique, every dependency a
 * step of the plan and not the step itself, one final writer step that every other step leads
 * to. Steps come back in an order that puts each after its dependencies, the final one last.
 * Anything else throws PlanError saying which rule it broke.
 */
export function validatePlan(value: unknown, limits: PlanLimits = {}): Plan {
  const maxSteps = Math.max(1, Math.min(maxPlanSteps, Math.floor(limits.maxSteps ?? maxPlanSteps)))
  const parsed = v.safeParse(PlanShapeSchema, value)
  if (!parsed.success) throw new PlanError(`plan refused: ${parsed.issues.map((issue) => `${v.getDotPath(issue) ?? 'plan'}: ${issue.message}`).join('; ')}`)
  const steps = parsed.output.steps.map((step): PlanStep => ({ ...step, dependsOn: [...new Set(step.dependsOn)] }))
  if (steps.length === 0) throw new PlanError('plan refused: it has no steps')
  if (steps.length > maxSteps) throw new PlanError(`plan refused: ${steps.length} steps, over the limit of ${maxSteps}`)
  const byId = new Map<string, PlanStep>()
  for (const step of steps) {
    if (byId.has(step.id)) throw new PlanError(`plan refused: step id ${step.id} is used twice`)
    byId.set(step.id, step)
  }
  for (const step of steps) {
    for (const dep of step.dependsOn) {
      if (dep === step.id) throw new PlanError(`plan refused: step ${step.id} depends on itself`)
      if (!byId.has(dep)) throw new PlanError(`plan refused: step ${step.id} depends on ${dep}, which is not a step of the plan`)
    }
  }
  const ordered = topologicalOrder(steps, byId)
  return { steps: withFinal(ordered, maxSteps, limits.addFinal ?? false) }
}

/** Kahn's order, ties in the plan's own order; a cycle is refused, named step by step. */
function topologicalOrder(steps: PlanStep[], byId: Map<string, PlanStep>): PlanStep[] {
  const placed = new Set<string>()
  const ordered: PlanStep[] = []
  while (ordered.length < steps.length) {
    const ready = steps.find((step) => !placed.has(step.id) && step.dependsOn.every((dep) => placed.has(dep)))
    if (!ready)
      throw new PlanError(
        `plan refused: steps ${cycleOf(
          steps.filter((step) => !placed.has(step.id)),
          byId,
        ).join(' → ')} form a cycle (a plan must be a DAG)`,
      )
    placed.add(ready.id)
    ordered.push(ready)
  }
  return ordered
}

/** A cycle among `left` (every one of which waits on another of them): walk dependencies until one repeats. */
function cycleOf(left: PlanStep[], byId: Map<string, PlanStep>): string[] {
  const waiting = new Set(left.map((step) => step.id))
  const path: string[] = []
  let at = left[0]
  while (at && !path.includes(at.id)) {
    path.push(at.id)
    const next: string | undefined = at.dependsOn.find((dep) => waiting.has(dep))
    at = next === undefined ? undefined : byId.get(next)
  }
  return at ? [...path.slice(path.indexOf(at.id)), at.id] : path
}

/** The steps with one final writer step last: the plan's own, or one added that depends on every end. */
function withFinal(steps: PlanStep[], maxSteps: number, addFinal: boolean): PlanStep[] {
  const needed = new Set(steps.flatMap((step) => step.dependsOn))
  const ends = steps.filter((step) => !needed.has(step.id))
  const [only] = ends
  if (ends.length === 1 && only?.role === 'writer') return [...steps.filter((step) => step !== only), only]
  const problem = ends.length === 1 ? `its final step ${only?.id ?? ''} is a ${only?.role ?? ''}, not a writer` : `it has no single final step (${ends.map((step) => step.id).join(', ')} all end it)`
  if (!addFinal) throw new PlanError(`plan refused: ${problem}; one writer step must come after all the others`)
  if (steps.length >= maxSteps) throw new PlanError(`plan refused: ${problem}, and a writer step would take it over the limit of ${maxSteps}`)
  let id = 'final'
  while (steps.some((step) => step.id === id)) id = `${id}_`
  return [...steps, { id, role: 'writer', prompt: finalPrompt, dependsOn: ends.map((step) => step.id) }]
}
