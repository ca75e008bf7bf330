import type { StepView } from '../market/plan'
import type { PlanHandle, Planner } from '../swarm/plan/planner'
import { colorOf, h, onNextFrame, shortId } from './dom'

/** Each step's depth in the plan: 0 for those with no dependency, else one more than its deepest dependency. */
function depths(steps: readonly StepView[]): Map<string, number> {
  const depth = new Map<string, number>()
  // Steps come in dependency order (validatePlan), so each one's dependencies are placed already.
  for (const step of steps) depth.set(step.id, Math.max(-1, ...step.dependsOn.map((dep) => depth.get(dep) ?? 0)) + 1)
  return depth
}

function stepChip(step: StepView, who: (nodeId: string) => string): HTMLElement {
  const retried = step.attempts > 1 ? ` · try ${step.attempts}` : ''
  return h(
    'span',
    {
      class: `plan-step ${step.state}`,
      'data-testid': 'plan-step',
      'data-step-id': step.id,
      'data-role': step.role,
      'data-state': step.state,
      'data-executor': step.executor ?? '',
      'data-attempts': step.attempts,
      title: step.error || step.dependsOn.map((dep) => `after ${dep}`).join(', '),
      style: step.executor ? `border-color:${colorOf(step.executor)}` : undefined,
    },
    h('b', {}, step.id),
    ` ${step.role} · ${step.state}`,
    step.executor ? ` · ${who(step.executor)}` : '',
    retried,
  )
}

function planRow(plan: PlanHandle, who: (nodeId: string) => string): HTMLElement {
  const steps = plan.steps()
  const depth = depths(steps)
  const levels = Math.max(0, ...depth.values()) + 1
  const writer = plan.writer()
  return h(
    'li',
    { class: `plan ${plan.phase()}`, 'data-testid': 'plan', 'data-plan-id': plan.id, 'data-phase': plan.phase() },
    h('div', {}, h('b', {}, 'Plan'), ` ${plan.phase()}`, writer ? ` · written by ${who(writer)}` : '', ' · ', h('span', { class: 'peer-detail' }, plan.goal.slice(0, 80))),
    steps.length
      ? h(
          'ol',
          { class: 'plan-levels' },
          ...Array.from({ length: levels }, (_, level) => h('li', { class: 'plan-level' }, ...steps.filter((step) => depth.get(step.id) === level).map((step) => stepChip(step, who)))),
        )
      : null,
    plan.error() ? h('div', { class: 'msg-error', 'data-testid': 'plan-error' }, plan.error()) : null,
  )
}

/** The plans this node runs, live: each step by depth (steps side by side run at once), its state and the peer that ran it. */
export function mountPlanView(root: HTMLElement, planner: Pick<Planner, 'plans' | 'on'>, selfId: string): () => void {
  const list = h('ul', { class: 'plans', 'data-testid': 'plans' })
  root.append(h('h3', {}, 'Plans'), list)
  const who = (nodeId: string): string => (nodeId === selfId ? 'me' : nodeId === 'relay' ? 'relay' : shortId(nodeId))
  const render = onNextFrame(() => {
    const plans = planner.plans()
    list.replaceChildren(...(plans.length ? plans.map((plan) => planRow(plan, who)) : [h('li', { class: 'empty' }, 'No plans yet: "Plan with the swarm" in the chat starts one.')]))
  })
  const stop = planner.on('change', render)
  render()
  return stop
}
