// A JSON Schema check for the subset the tests' schemas use (type, enum, const, properties,
// required, additionalProperties, items, min/maxItems, min/maxLength, minimum/maximum, anyOf):
// what a constrained decoder promises, checked independently of the decoder that made it.
// Returns the problems found, with the JSON path of each; empty means the value validates.
type Schema = Record<string, unknown>

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function typeMatches(type: unknown, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isObject(value)
    case 'array':
      return Array.isArray(value)
    case 'string':
      return typeof value === 'string'
    case 'integer':
      return Number.isInteger(value)
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'boolean':
      return typeof value === 'boolean'
    case 'null':
      return value === null
    default:
      return false
  }
}

const known = new Set([
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'anyOf',
  'description',
  'title',
])

export function schemaProblems(schema: Schema, value: unknown, path = '$'): string[] {
  const unknownKeys = Object.keys(schema).filter((key) => !known.has(key))
  if (unknownKeys.length > 0) return [`${path}: the check does not know ${unknownKeys.join(', ')}`]
  const problems: string[] = []
  const { type, properties, required, additionalProperties, items, anyOf } = schema
  if (type !== undefined && !(Array.isArray(type) ? type : [type]).some((one) => typeMatches(one, value))) return [`${path}: ${JSON.stringify(value)} is not of type ${JSON.stringify(type)}`]
  if (Array.isArray(schema['enum']) && !schema['enum'].some((option) => JSON.stringify(option) === JSON.stringify(value))) problems.push(`${path}: ${JSON.stringify(value)} is not one of the enum`)
  if ('const' in schema && JSON.stringify(schema['const']) !== JSON.stringify(value)) problems.push(`${path}: ${JSON.stringify(value)} is not the const`)
  if (Array.isArray(anyOf) && !anyOf.some((option) => isObject(option) && schemaProblems(option, value, path).length === 0)) problems.push(`${path}: matches none of anyOf`)
  if (typeof value === 'string') {
    if (typeof schema['minLength'] === 'number' && value.length < schema['minLength']) problems.push(`${path}: shorter than ${schema['minLength']}`)
    if (typeof schema['maxLength'] === 'number' && value.length > schema['maxLength']) problems.push(`${path}: longer than ${schema['maxLength']}`)
  }
  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum']) problems.push(`${path}: below ${schema['minimum']}`)
    if (typeof schema['maximum'] === 'number' && value > schema['maximum']) problems.push(`${path}: above ${schema['maximum']}`)
  }
  if (Array.isArray(value)) {
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) problems.push(`${path}: fewer than ${schema['minItems']} items`)
    if (typeof schema['maxItems'] === 'number' && value.length > schema['maxItems']) problems.push(`${path}: more than ${schema['maxItems']} items`)
    if (isObject(items)) value.forEach((item, index) => problems.push(...schemaProblems(items, item, `${path}[${index}]`)))
  }
  if (isObject(value)) {
    const props = isObject(properties) ? properties : {}
    for (const name of Array.isArray(required) ? required : []) if (typeof name === 'string' && !(name in value)) problems.push(`${path}: lacks required ${name}`)
    for (const [name, item] of Object.entries(value)) {
      const sub = props[name]
      if (isObject(sub)) problems.push(...schemaProblems(sub, item, `${path}.${name}`))
      else if (additionalProperties === false) problems.push(`${path}: has no property ${name} in the schema`)
    }
  }
  return problems
}
