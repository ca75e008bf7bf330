// Reading /v1's environment variables: integers in a range and comma-separated lists, each
// problem added to the caller's list so that startup names them all at once.
import type { Env } from '../config'
import { readInteger as readNamedInteger } from '../env'

export interface IntegerRule {
  fallback: number
  min: number
  max: number
}

export function readInteger(env: Env, name: string, rule: IntegerRule, problems: string[]): number {
  return readNamedInteger(env, { name, ...rule }, problems)
}

/** The non-empty items of a comma-separated variable. */
export function readList(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}
