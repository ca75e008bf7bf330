/*
 * A plan: the queen's breakdown of a goal into steps for her workers. A model writes it under
 * `planJsonSchema` (constrained decoding keeps it to this shape: ids and roles from fixed sets,
 * bounded arrays and strings), a script may give one; either way `validatePlan` (validate.ts)
 * decides whether it runs. Nothing here trusts the writer: the schema bounds the shape, the
 * validator the graph.
 */
import * as v from 'valibot'

export const roles = ['researcher', 'analyst', 'coder', 'critic', 'writer'] as const
export type Role = (typeof roles)[number]

/** The most steps any plan may have, the final writer step included. */
export const maxPlanSteps = 8
export const maxStepPromptChars = 1_000
/** What a written plan's prompts are held to: enough for one instruction, too little to ramble. */
export const writtenPromptChars = 300

/** A plan as validated: step ids unique, dependencies known, no cycle, one final writer step, last. */
export interface PlanStep {
  id: string
  role: Role
  prompt: string
  dependsOn: string[]
}

export interface Plan {
  steps: PlanStep[]
}

const StepIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/, 'a step id is 1 to 32 letters, digits, _ or -'))

/**
 * The shape of a plan from any source, loose in what the validator words better (the number of
 * steps, their graph) and strict in what it cannot read (types, sizes). The array bound only caps
 * the work of reading it; `validatePlan` holds a plan to `maxPlanSteps`.
 */
export const PlanShapeSchema = v.object({
  steps: v.pipe(
    v.array(
      v.object({
        id: StepIdSchema,
        role: v.picklist(roles, `a role is one of ${roles.join(', ')}`),
        prompt: v.pipe(v.string(), v.trim(), v.minLength(1, 'a step prompt is empty'), v.maxLength(maxStepPromptChars, `a step prompt is over ${maxStepPromptChars} characters`)),
        dependsOn: v.pipe(v.array(StepIdSchema), v.maxLength(64)),
      }),
    ),
    v.maxLength(64, 'a plan has at most 64 entries to read'),
  ),
})

/** The ids a written plan may use: s1…sN, so that a model can only name steps of the plan. */
export function writtenIds(maxSteps: number): string[] {
  return Array.from({ length: maxSteps }, (_, index) => `s${index + 1}`)
}

/**
 * The JSON schema a model writes a plan under. With `maxSteps` steps at most, each from the fixed
 * ids and roles, its dependencies a bounded list of those ids: whatever constrained decoding
 * emits parses, and only the graph (a cycle, a duplicate id) is left for the validator to refuse.
 */
export function planJsonSchema(maxSteps: number): Record<string, unknown> {
  const ids = writtenIds(maxSteps)
  return {
    type: 'object',
    additionalProperties: false,
    required: ['steps'],
    properties: {
      steps: {
        type: 'array',
        minItems: 1,
        maxItems: maxSteps,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'role', 'prompt', 'dependsOn'],
          properties: {
            id: { type: 'string', enum: ids },
            role: { type: 'string', enum: [...roles] },
            prompt: { type: 'string', minLength: 1, maxLength: writtenPromptChars },
            dependsOn: { type: 'array', maxItems: Math.max(0, maxSteps - 1), items: { type: 'string', enum: ids } },
          },
        },
      },
    },
  }
}
