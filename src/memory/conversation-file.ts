import * as v from 'valibot'
import { ValidationError, registerError } from '../shared/errors'
import type { StoredConversation } from './local-db'

/**
 * Conversations as files the user keeps: JSON (every field, read back exactly) and Markdown
 * (readable anywhere; each message's fields ride in an HTML comment before it, with the length
 * of its text, so an unedited export reads back exactly too).
 */

export class ConversationFileError extends ValidationError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'ConversationFileError'
}

export const conversationFileFormat = 'edgeswarm-conversations'
const fileVersion = 1
const maxFileChars = 50_000_000
const maxText = 5_000_000
const id = v.pipe(v.string(), v.minLength(1), v.maxLength(200))
const text = v.pipe(v.string(), v.maxLength(maxText))
const count = v.pipe(v.number(), v.finite())
const route = v.picklist(['local', 'swarm', 'relay'])

const MetaSchema = v.object({
  engine: v.string(),
  model: v.string(),
  nodeId: v.string(),
  timeToFirstTokenMs: count,
  tokensPerS: count,
  finish: v.string(),
  note: v.exactOptional(v.string()),
  route: v.exactOptional(route),
  decision: v.exactOptional(v.object({ route, confidence: count })),
  rating: v.exactOptional(v.picklist(['up', 'down'])),
  fit: v.exactOptional(v.string()),
})

const AgentStepSchema = v.object({
  kind: v.picklist(['thought', 'call', 'result']),
  step: count,
  name: v.string(),
  text,
  ok: v.exactOptional(v.boolean()),
})

const MessageSchema = v.object({
  role: v.picklist(['system', 'user', 'assistant']),
  content: text,
  meta: v.exactOptional(MetaSchema),
  error: v.exactOptional(v.string()),
  agent: v.exactOptional(v.object({ steps: v.array(AgentStepSchema), end: v.exactOptional(v.picklist(['answer', 'step-limit', 'stopped', 'failed'])) })),
  memory: v.exactOptional(v.array(v.object({ id: v.string(), author: v.string(), verified: v.boolean(), text }))),
})

const ConversationSchema = v.object({
  id,
  title: v.pipe(v.string(), v.maxLength(1000)),
  createdAt: count,
  updatedAt: count,
  messages: v.array(MessageSchema),
  summary: v.exactOptional(v.object({ turns: count, text })),
})

const FileSchema = v.object({
  format: v.literal(conversationFileFormat),
  version: v.literal(fileVersion),
  conversations: v.pipe(v.array(ConversationSchema), v.minLength(1, 'the file holds no conversation')),
})

/** The header of a Markdown export: the conversation's fields but its messages. */
const MarkdownHeadSchema = v.object({ format: v.literal(conversationFileFormat), version: v.literal(fileVersion), ...v.omit(ConversationSchema, ['messages']).entries })
/** Before each message of a Markdown export: its fields but its text, and the text's length. */
const MarkdownMessageSchema = v.object({ ...v.omit(MessageSchema, ['content']).entries, chars: v.pipe(v.number(), v.integer(), v.minValue(0)) })

function problems(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => {
      const path = v.getDotPath(issue)
      return path ? `${path}: ${issue.message}` : issue.message
    })
    .join('; ')
}

function parsed<S extends v.GenericSchema>(schema: S, value: unknown, what: string): v.InferOutput<S> {
  const result = v.safeParse(schema, value)
  if (!result.success) throw new ConversationFileError(`${what}: ${problems(result.issues)}`)
  return result.output
}

export function conversationsToJson(conversations: readonly StoredConversation[]): string {
  return `${JSON.stringify({ format: conversationFileFormat, version: fileVersion, conversations }, null, 2)}\n`
}

/** The conversations of a JSON export, validated; a ConversationFileError says what is wrong and where. */
export function conversationsFromJson(source: string): StoredConversation[] {
  if (source.length > maxFileChars) throw new ConversationFileError(`this file is too large to be a conversation export (over ${maxFileChars / 1_000_000} MB)`)
  let value: unknown
  try {
    value = JSON.parse(source)
  } catch (error) {
    throw new ConversationFileError(`this file is not JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== conversationFileFormat)
    throw new ConversationFileError(`this JSON is not an edgeswarm conversation export (it has no "format": "${conversationFileFormat}")`)
  return parsed(FileSchema, value, 'this conversation export does not read').conversations
}

/** JSON inside an HTML comment: `<` and `>` escaped, so no text can close the comment. */
function commentJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e')
}

const roleTitle = { system: 'System', user: 'User', assistant: 'Assistant' } as const
const headMarker = '<!-- edgeswarm:conversation '
const messageMarker = '<!-- edgeswarm:message '
const markerEnd = ' -->\n'

/** A conversation as Markdown: a heading per message, its text as written (the answers are Markdown already). */
export function conversationToMarkdown(conversation: StoredConversation): string {
  const { messages, ...head } = conversation
  const parts = [`# ${conversation.title.replace(/\s+/g, ' ').trim() || 'Conversation'}\n\n${headMarker}${commentJson({ format: conversationFileFormat, version: fileVersion, ...head })}${markerEnd}`]
  for (const { content, ...fields } of messages) parts.push(`\n## ${roleTitle[fields.role]}\n\n${messageMarker}${commentJson({ ...fields, chars: content.length })}${markerEnd}${content}\n`)
  return parts.join('')
}

/** Reads one marker's JSON at `at` (just after its opening); returns it and where the line ends. */
function markerAt(source: string, at: number, what: string): { value: unknown; end: number } {
  const end = source.indexOf(markerEnd, at)
  if (end === -1) throw new ConversationFileError(`${what}: its comment is not closed`)
  try {
    return { value: JSON.parse(source.slice(at, end)), end: end + markerEnd.length }
  } catch {
    throw new ConversationFileError(`${what}: its comment does not hold JSON`)
  }
}

/** A Markdown export read back; the file must be as exported (a message's text is read by its length). */
export function conversationFromMarkdown(source: string): StoredConversation {
  if (source.length > maxFileChars) throw new ConversationFileError(`this file is too large to be a conversation export (over ${maxFileChars / 1_000_000} MB)`)
  const headAt = source.indexOf(headMarker)
  if (headAt === -1) throw new ConversationFileError('this Markdown is not an edgeswarm conversation export (it has no edgeswarm:conversation comment)')
  const headMark = markerAt(source, headAt + headMarker.length, 'the conversation header')
  const { format: _format, version: _version, ...head } = parsed(MarkdownHeadSchema, headMark.value, 'the conversation header')
  const messages: StoredConversation['messages'] = []
  let at = headMark.end
  while (at < source.length) {
    const next = source.indexOf(messageMarker, at)
    if (next === -1) break
    const what = `message ${messages.length + 1}`
    const mark = markerAt(source, next + messageMarker.length, what)
    const { chars, ...fields } = parsed(MarkdownMessageSchema, mark.value, what)
    const content = source.slice(mark.end, mark.end + chars)
    at = mark.end + chars
    const rest = source.slice(at, at + 5)
    if (content.length !== chars || !(rest === '\n' || rest.startsWith('\n\n## ')))
      throw new ConversationFileError(`${what}: its text is not ${chars} characters long as its comment says (was the file edited? import the JSON export instead)`)
    messages.push({ ...fields, content })
  }
  return parsed(ConversationSchema, { ...head, messages }, 'the conversation')
}

/** Conversations from a file the user picked: JSON or Markdown, told apart by name and content. */
export function conversationsFromFile(name: string, source: string): StoredConversation[] {
  const markdown = /\.(md|markdown)$/i.test(name) || (!/\.json$/i.test(name) && source.trimStart().startsWith('#'))
  return markdown ? [conversationFromMarkdown(source)] : conversationsFromJson(source)
}
