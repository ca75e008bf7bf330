import type { StoredAgentRun, StoredAgentStep } from '../memory/local-db'
import { plural } from '../shared/text'
import type { AgentStep } from '../swarm/agent/loop'
import { h } from './dom'

const endText: Record<NonNullable<StoredAgentRun['end']>, string> = {
  answer: 'answered',
  'step-limit': 'stopped at the step limit without an answer',
  stopped: 'stopped',
  failed: 'failed',
}

/** Adds a step to the run as the loop reports it: a thought that grows replaces its earlier text. */
export function recordStep(run: StoredAgentRun, step: AgentStep): void {
  const last = run.steps.at(-1)
  if (step.kind === 'thought') {
    if (last?.kind === 'thought' && last.step === step.step) last.text = step.text
    else run.steps.push({ kind: 'thought', step: step.step, name: '', text: step.text })
    return
  }
  if (step.kind === 'call') run.steps.push({ kind: 'call', step: step.step, name: step.name, text: step.arguments })
  else run.steps.push({ kind: 'result', step: step.step, name: step.name, text: step.content, ok: step.ok })
}

function stepRow(step: StoredAgentStep): HTMLElement {
  const label = step.kind === 'thought' ? 'thought' : step.kind === 'call' ? `call ${step.name}` : step.ok === false ? `error${step.name ? ` from ${step.name}` : ''}` : `result of ${step.name}`
  return h(
    'li',
    { class: `agent-step ${step.kind}${step.ok === false ? ' failed' : ''}`, 'data-testid': 'agent-step', 'data-kind': step.kind, 'data-tool': step.name, 'data-step': step.step },
    h('span', { class: 'agent-step-label' }, `${step.step} · ${label}`),
    ' ',
    h('code', { class: 'agent-step-text' }, step.text),
  )
}

/** What the model wants to write to the room's memory, with the user's two answers. */
export interface PendingAdd {
  text: string
}

function confirmBox(pending: PendingAdd): HTMLElement {
  return h(
    'div',
    { class: 'agent-confirm', 'data-testid': 'agent-confirm' },
    h('div', {}, 'The model wants to add this to the room memory, signed by this node:'),
    h('blockquote', { 'data-testid': 'agent-confirm-text' }, pending.text),
    h('button', { type: 'button', 'data-action': 'agent-add', 'data-testid': 'agent-add' }, 'Add it'),
    ' ',
    h('button', { type: 'button', 'data-action': 'agent-decline', 'data-testid': 'agent-decline' }, "Don't"),
  )
}

/** The steps of an agent run, shown under its answer; a pending add asks the user there. */
export function agentRunView(run: StoredAgentRun, pending: PendingAdd | null): HTMLElement {
  return h(
    'div',
    { class: 'agent-run', 'data-testid': 'agent-run', 'data-end': run.end ?? 'running' },
    h('ol', { class: 'agent-steps', 'data-testid': 'agent-steps' }, ...run.steps.map(stepRow)),
    pending ? confirmBox(pending) : null,
    run.end ? h('div', { class: 'agent-end', 'data-testid': 'agent-end' }, `agent ${endText[run.end]} after ${plural(Math.max(0, ...run.steps.map((step) => step.step)), 'step', 'steps')}`) : null,
  )
}
