export { maxPlanSteps, planJsonSchema, roles, writtenIds, type Plan, type PlanStep, type Role } from './schema'
export { validatePlan, type PlanLimits } from './validate'
export { escapeQuoted, rolePrompts, stepRequest } from './roles'
export { defaultStepTokens, PlanRun, type PlanRunEvents, type PlanRunOptions, type StepState, type StepView } from './run'
