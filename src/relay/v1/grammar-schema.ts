// A client's JSON schema as node-llama-cpp's grammar builder takes it (its GbnfJsonSchema). That
// builder ignores keywords it does not know, so a schema with `pattern` or `minimum` would be
// decoded without them and the answer could break the schema: such a keyword is refused here,
// naming where it is (a 400). `anyOf` becomes `oneOf` (the same for a grammar); annotations are dropped.

import { badRequest, type ApiError } from './errors'

/** Keywords the grammar honours, per kind of schema (node-llama-cpp 3.21's GbnfJsonSchema). */
const honoured = new Set([
  'type',
  'const',
  'enum',
  'oneOf',
  'anyOf',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'format',
  '$defs',
  '$ref',
  'description',
])
/** Words about the schema that constrain nothing. */
const annotations = new Set(['title', 'default', 'examples', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly', 'strict'])
const formats = new Set(['date-time', 'time', 'date'])
const types = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array'])
const isCount = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0
const isScalar = (value: unknown): boolean => value === null || ['string', 'number', 'boolean'].includes(typeof value)

/** Why the value of an honoured keyword is not one the grammar builder reads right; null: it is. */
function valueProblem(key: string, value: unknown): string | null {
  switch (key) {
    case 'type':
      return (Array.isArray(value) ? value.length > 0 && value.every((item) => types.has(String(item))) : types.has(String(value))) ? null : 'is not a JSON type or a list of them'
    case 'format':
      return formats.has(String(value)) ? null : `is ${JSON.stringify(value)}: only date-time, time and date can be enforced`
    case 'enum':
      return Array.isArray(value) && value.length > 0 && value.every(isScalar) ? null : 'is not a non-empty list of strings, numbers, booleans or null'
    case 'const':
      return isScalar(value) ? null : 'is not a string, number, boolean or null'
    case 'oneOf':
    case 'anyOf':
    case 'prefixItems':
      return Array.isArray(value) && value.length > 0 ? null : 'is not a non-empty list of schemas'
    case 'required':
      return Array.isArray(value) && value.every((item) => typeof item === 'string') ? null : 'is not a list of names'
    case 'properties':
    case '$defs':
      return isRecord(value) ? null : 'is not an object of schemas'
    case '$ref':
      return typeof value === 'string' && /^#\/\$defs\/[^/]+$/.test(value) ? null : 'is not a reference to #/$defs/NAME'
    case 'additionalProperties':
      return typeof value === 'boolean' || isRecord(value) ? null : 'is not a boolean or a schema'
    case 'items':
      return isRecord(value) ? null : 'is not a schema'
    case 'description':
      return typeof value === 'string' ? null : 'is not a string'
    default:
      // minLength, maxLength, minItems, maxItems, minProperties, maxProperties
      return isCount(value) ? null : 'is not a whole number of 0 or more'
  }
}

export type GrammarSchema = Record<string, unknown>

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

const refuse = (path: string, reason: string): ApiError => badRequest(`${path}: ${reason}`, path, 'unsupported_schema')

/**
 * `schema` (found at `path` of the request) for the grammar builder; throws a 400 naming the
 * first part of it the grammar cannot enforce.
 */
export function grammarSchemaOf(schema: unknown, path: string): GrammarSchema {
  if (!isRecord(schema)) throw refuse(path, 'is not a schema object')
  const out: GrammarSchema = {}
  for (const [key, value] of Object.entries(schema)) {
    const at = `${path}.${key}`
    if (annotations.has(key)) continue
    if (!honoured.has(key)) throw refuse(at, `the keyword ${key} cannot be enforced by this backend's grammar`)
    const problem = valueProblem(key, value)
    if (problem !== null) throw refuse(at, problem)
    if (key === 'properties' || key === '$defs') out[key] = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([name, child]) => [name, grammarSchemaOf(child, `${at}.${name}`)]))
    else if (key === 'oneOf' || key === 'anyOf' || key === 'prefixItems') out[key === 'anyOf' ? 'oneOf' : key] = (value as unknown[]).map((child, index) => grammarSchemaOf(child, `${at}.${index}`))
    else if (key === 'items' || (key === 'additionalProperties' && typeof value !== 'boolean')) out[key] = grammarSchemaOf(value, at)
    else out[key] = value
  }
  // `{}` (anything) becomes any scalar: narrower, and still valid. `{ type: 'object' }` (any
  // object) needs additionalProperties said: JSON Schema's default is true, node-llama-cpp's false.
  if (Object.keys(out).length === 0) return { type: ['string', 'number', 'boolean', 'null'] }
  if (out.type === 'object' && out.properties === undefined && out.additionalProperties === undefined) out.additionalProperties = true
  return out
}
