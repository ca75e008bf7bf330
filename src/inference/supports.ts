import { UnsupportedRequestError } from '../shared/errors'
import type { ChatRequest, EngineSupports } from './types'

/** What `request` needs of an engine beyond plain text. */
export function needs(request: ChatRequest): EngineSupports {
  const tools = (request.tools?.length ?? 0) > 0 || request.messages.some((message) => message.role === 'tool' || (message.role === 'assistant' && message.tool_calls !== undefined))
  const format = request.response_format?.type
  return { tools, jsonSchema: format === 'json_object' || format === 'json_schema' }
}

/** Whether `supports` covers everything `request` needs. */
export function canServe(request: ChatRequest, supports: EngineSupports): boolean {
  const needed = needs(request)
  return (!needed.tools || supports.tools) && (!needed.jsonSchema || supports.jsonSchema)
}

/** Throws UnsupportedRequestError naming what `engine` cannot do; a request it can serve passes. */
export function refuseUnsupported(request: ChatRequest, supports: EngineSupports, engine: string): void {
  const needed = needs(request)
  const missing = [needed.tools && !supports.tools ? 'tools' : '', needed.jsonSchema && !supports.jsonSchema ? `response_format ${request.response_format?.type ?? ''}` : ''].filter(Boolean)
  if (missing.length > 0) throw new UnsupportedRequestError(`${engine} does not support ${missing.join(' or ')}`)
}
