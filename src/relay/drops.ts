/** Why the relay dropped a frame or a socket; counted in stats and /healthz. */
export const dropReasons = [
  'binary',
  'invalid-json',
  'invalid-frame',
  'oversized',
  'too-many-topics',
  'rate-limited',
  'topic-full',
  'conn-limit',
  'connect-rate',
  'server-full',
  'origin',
  'host',
  'idle',
  'slow-consumer',
  'protocol',
  'internal',
] as const

export type DropReason = (typeof dropReasons)[number]

export type DropCounts = Record<DropReason, number>

/** Every reason at zero. */
export function createDropCounts(): DropCounts {
  return Object.fromEntries(dropReasons.map((reason) => [reason, 0])) as DropCounts
}
