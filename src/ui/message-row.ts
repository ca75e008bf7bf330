import { splitThinking } from '../inference/think'
import type { StoredMessage } from '../memory/local-db'
import type { QuotedEntry } from '../swarm/memory-quote'
import { plural } from '../shared/text'
import { agentRunView, type PendingAdd } from './agent-view'
import { h } from './dom'
import { MarkdownView } from './markdown'

/** One message of the chat as shown: the user's text, or an answer in Markdown with its thinking, tools, memory, meta and actions. */

function metaLine(message: StoredMessage, selfId: string): string {
  const meta = message.meta
  if (!meta) return ''
  const stopped = meta.finish === 'abort' ? ' · stopped' : meta.finish === 'length' ? ' · cut at max tokens' : ''
  const where = meta.nodeId === selfId ? 'this node' : meta.nodeId === 'relay' ? 'the relay' : `node ${meta.nodeId.slice(0, 8)}`
  const note = meta.note ? ` · ${meta.note}` : ''
  const routed = meta.decision ? ` · router: ${meta.decision.route} ${Math.round(meta.decision.confidence * 100)} %` : ''
  return `${where} · ${meta.engine} · ${meta.model} · first token ${Math.round(meta.timeToFirstTokenMs)} ms · ${meta.tokensPerS.toFixed(1)} tok/s${stopped}${routed}${note}`
}

export type Action = 'up' | 'down' | 'regenerate' | 'escalate'

function actionButton(action: Action, index: number, label: string, title: string, pressed = false): HTMLElement {
  return h(
    'button',
    {
      type: 'button',
      class: `msg-action${pressed ? ' pressed' : ''}`,
      'data-action': action,
      'data-index': index,
      'data-testid': `msg-${action}`,
      title,
      'aria-label': title,
      'aria-pressed': pressed ? 'true' : 'false',
    },
    label,
  )
}

function copyAnswerButton(index: number): HTMLElement {
  return h(
    'button',
    { type: 'button', class: 'msg-action', 'data-action': 'copy-answer', 'data-index': index, 'data-testid': 'msg-copy', title: 'Copy the answer (Markdown)', 'aria-label': 'Copy the answer' },
    'Copy',
  )
}

function actionsRow(message: StoredMessage, index: number, last: boolean): HTMLElement | null {
  const meta = message.meta
  if (!meta) return message.content ? h('div', { class: 'msg-actions' }, copyAnswerButton(index)) : null
  const smallModel = meta.route !== 'relay'
  return h(
    'div',
    { class: 'msg-actions' },
    copyAnswerButton(index),
    actionButton('up', index, '👍', 'Good answer', meta.rating === 'up'),
    actionButton('down', index, '👎', 'Bad answer', meta.rating === 'down'),
    last ? actionButton('regenerate', index, '↻', 'Ask again') : null,
    last && smallModel ? actionButton('escalate', index, '⇪ relay', "Ask the relay's bigger model") : null,
  )
}

/** The memory entries an answer was given, each with its author and whether its signature held. */
function quotedList(entries: readonly QuotedEntry[]): HTMLElement {
  return h(
    'details',
    { class: 'msg-memory', 'data-testid': 'msg-memory' },
    h('summary', {}, `${plural(entries.length, 'room memory entry', 'room memory entries')} given`),
    h(
      'ol',
      {},
      ...entries.map((entry) =>
        h(
          'li',
          { 'data-testid': 'msg-memory-entry', 'data-entry-id': entry.id, 'data-author': entry.author, 'data-verified': String(entry.verified) },
          h('span', { class: entry.verified ? 'trust verified' : 'trust unverified' }, `${entry.author.slice(0, 8)} · ${entry.verified ? 'verified' : 'unverified'}`),
          ' ',
          entry.text,
        ),
      ),
    ),
  )
}

/** Each answer's rendered Markdown, kept across renders: a frame re-renders only what changed. */
const answerViews = new WeakMap<StoredMessage, MarkdownView>()

function answerView(message: StoredMessage, answer: string, streaming: boolean): HTMLElement {
  let view = answerViews.get(message)
  if (!view) {
    view = new MarkdownView({ class: 'msg-text markdown', 'data-testid': 'msg-answer' })
    answerViews.set(message, view)
  }
  if (streaming) view.update(answer)
  else if (!view.shows(answer)) view.finish(answer)
  return view.element
}

export function messageRow(message: StoredMessage, selfId: string, index = -1, last = false, running = false, pending: PendingAdd | null = null): HTMLElement {
  if (message.role !== 'assistant') return h('li', { class: `msg ${message.role}`, 'data-testid': `msg-${message.role}` }, h('div', { class: 'msg-text' }, message.content))
  const { thinking, answer, thinkingOpen } = splitThinking(message.content)
  const streaming = running && last
  return h(
    'li',
    { class: 'msg assistant', 'data-testid': 'msg-assistant' },
    thinking || thinkingOpen
      ? h('details', { class: 'thinking', 'data-testid': 'msg-thinking', open: thinkingOpen }, h('summary', {}, thinkingOpen ? 'Thinking…' : 'Thought'), h('div', { class: 'thinking-text' }, thinking))
      : null,
    message.agent ? agentRunView(message.agent, pending) : null,
    answerView(message, answer, streaming),
    message.memory?.length ? quotedList(message.memory) : null,
    message.error ? h('div', { class: 'msg-error', 'data-testid': 'msg-error' }, message.error) : null,
    message.meta?.fit ? h('div', { class: 'msg-fit', 'data-testid': 'msg-fit' }, message.meta.fit) : null,
    message.meta ? h('div', { class: 'msg-meta', 'data-testid': 'msg-meta', 'data-node-id': message.meta.nodeId }, metaLine(message, selfId)) : null,
    running ? null : actionsRow(message, index, last),
  )
}
