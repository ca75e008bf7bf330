// Random /v1 chat bodies for the /v1 fuzzer, aimed at the tool and structured-output fields:
// tool messages, calls, tools with random JSON schemas (honoured keywords with good and bad
// values, keywords no grammar enforces, deep nesting, references), tool_choice and
// response_format, and now and then any field replaced by random JSON.
import type { Random } from './random'

const schemaKeys = [
  'type',
  'properties',
  'items',
  'enum',
  'const',
  'oneOf',
  'anyOf',
  'required',
  'additionalProperties',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'pattern',
  'format',
  '$ref',
  '$defs',
  'minimum',
  'allOf',
  'title',
  'prefixItems',
] as const
const types = ['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']

function schemaValue(random: Random, key: (typeof schemaKeys)[number], depth: number): unknown {
  if (random.chance(0.1)) return random.json(2)
  switch (key) {
    case 'type':
      return random.chance(0.8) ? random.pick(types) : [random.pick(types), random.pick(types)]
    case 'properties':
    case '$defs':
      return Object.fromEntries(Array.from({ length: random.int(4) }, () => [random.pick(['a', 'b', 'city', random.text(5)]), randomSchema(random, depth - 1)]))
    case 'items':
    case 'additionalProperties':
      return random.chance(0.3) ? random.chance(0.5) : randomSchema(random, depth - 1)
    case 'oneOf':
    case 'anyOf':
    case 'allOf':
    case 'prefixItems':
      return Array.from({ length: random.int(3) }, () => randomSchema(random, depth - 1))
    case 'enum':
      return Array.from({ length: random.int(4) }, () => random.pick(['x', 'y', 1, true, null, random.text(8)]))
    case 'required':
      return Array.from({ length: random.int(3) }, () => random.pick(['a', 'b', 'city']))
    case '$ref':
      return random.pick(['#/$defs/a', '#/$defs/b', '#', random.text(10)])
    case 'format':
      return random.pick(['date', 'time', 'date-time', 'email', random.text(4)])
    case 'pattern':
      return random.pick(['^a+$', '(', random.text(6)])
    default:
      return random.pick([0, 1, 3, 8, -1, 1.5, 100_000, 2 ** 40])
  }
}

export function randomSchema(random: Random, depth = 3): Record<string, unknown> {
  if (depth <= 0) return { type: random.pick(types) }
  return Object.fromEntries(
    Array.from({ length: 1 + random.int(4) }, () => {
      const key = random.pick(schemaKeys)
      return [key, schemaValue(random, key, depth)]
    }),
  )
}

/** A schema nested `levels` deep: past the wire's depth cap when `levels` is large. */
function deepSchema(levels: number): Record<string, unknown> {
  let schema: Record<string, unknown> = { type: 'string' }
  for (let level = 0; level < levels; level++) schema = { type: 'array', items: schema }
  return schema
}

const toolNames = ['get_weather', 'get_time', 'search']

function randomTool(random: Random): unknown {
  if (random.chance(0.05)) return random.json(3)
  const parameters = random.chance(0.1) ? deepSchema(10 + random.int(40)) : randomSchema(random)
  return {
    type: random.chance(0.95) ? 'function' : 'tool',
    function: { name: random.chance(0.9) ? random.pick(toolNames) : random.text(10), ...(random.chance(0.8) ? { parameters } : {}), ...(random.chance(0.3) ? { description: random.text(40) } : {}) },
  }
}

function randomCall(random: Random): unknown {
  const args = random.pick(['{}', '{"city":"Paris"}', 'not json', random.text(30), '[1,2]'])
  return { id: random.chance(0.9) ? `call_${random.int(1000)}` : random.text(12), type: 'function', function: { name: random.pick([...toolNames, random.text(6)]), arguments: args } }
}

function randomMessage(random: Random): unknown {
  const role = random.pick(['system', 'user', 'user', 'assistant', 'tool', 'developer', random.text(5)])
  const content = random.pick([random.text(random.int(200)), null, [{ type: 'text', text: random.text(20) }], random.json(2)])
  const message: Record<string, unknown> = { role, content }
  if (role === 'assistant' && random.chance(0.6)) message.tool_calls = Array.from({ length: random.int(3) }, () => randomCall(random))
  if (role === 'tool' ? random.chance(0.9) : random.chance(0.05)) message.tool_call_id = random.chance(0.9) ? `call_${random.int(1000)}` : random.json(1)
  return message
}

function randomFormat(random: Random): unknown {
  switch (random.int(6)) {
    case 0:
      return { type: 'text' }
    case 1:
      return { type: 'json_object' }
    case 2:
      return random.json(2)
    default:
      return {
        type: 'json_schema',
        json_schema: { name: random.chance(0.9) ? 'answer' : random.text(8), ...(random.chance(0.9) ? { schema: random.chance(0.1) ? deepSchema(40) : randomSchema(random) } : {}) },
      }
  }
}

function randomChoice(random: Random): unknown {
  return random.pick(['none', 'auto', 'required', { type: 'function', function: { name: random.pick(toolNames) } }, random.json(2)])
}

/** A random chat body for `model`, at most `maxTokens` asked. */
export function randomChatBody(random: Random, model: string, maxTokens: number): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: random.chance(0.95) ? model : random.text(8),
    messages: Array.from({ length: 1 + random.int(4) }, () => randomMessage(random)),
    max_tokens: 1 + random.int(maxTokens),
    temperature: 0,
    stream: random.chance(0.5),
  }
  if (random.chance(0.6)) body.tools = Array.from({ length: 1 + random.int(3) }, () => randomTool(random))
  if (random.chance(0.5)) body.tool_choice = randomChoice(random)
  if (random.chance(0.5)) body.response_format = randomFormat(random)
  if (random.chance(0.1)) body[random.pick(['messages', 'tools', 'tool_choice', 'response_format', 'max_tokens'])] = random.json(3)
  return body
}
