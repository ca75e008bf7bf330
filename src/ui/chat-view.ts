import type { LocalEngine } from '../inference/local-engine'
import { splitThinking } from '../inference/think'
import type { ChatRequest } from '../inference/types'
import type { RouteChoice, RoutedAnswer } from '../swarm/chat-router'
import type { Conversations } from '../memory/conversations'
import type { StoredConversation, StoredMessage } from '../memory/local-db'
import { h, onNextFrame } from './dom'

const saveEveryMs = 1_500
/** Room for Qwen3's thinking and a full answer; a 1.7B model rarely needs more. */
const answerTokenLimit = 2048

function metaLine(message: StoredMessage, selfId: string): string {
  const meta = message.meta
  if (!meta) return ''
  const stopped = meta.finish === 'abort' ? ' · stopped' : meta.finish === 'length' ? ' · cut at max tokens' : ''
  const where = meta.nodeId === selfId ? 'this node' : meta.nodeId === 'relay' ? 'the relay' : `node ${meta.nodeId.slice(0, 8)}`
  const note = meta.note ? ` · ${meta.note}` : ''
  return `${where} · ${meta.engine} · ${meta.model} · first token ${Math.round(meta.timeToFirstTokenMs)} ms · ${meta.tokensPerS.toFixed(1)} tok/s${stopped}${note}`
}

export type AskFunction = (request: ChatRequest, route: RouteChoice, signal: AbortSignal) => RoutedAnswer

function messageRow(message: StoredMessage, selfId: string): HTMLElement {
  if (message.role !== 'assistant') return h('li', { class: `msg ${message.role}`, 'data-testid': `msg-${message.role}` }, h('div', { class: 'msg-text' }, message.content))
  const { thinking, answer, thinkingOpen } = splitThinking(message.content)
  return h(
    'li',
    { class: 'msg assistant', 'data-testid': 'msg-assistant' },
    thinking || thinkingOpen ? h('details', { class: 'thinking', 'data-testid': 'msg-thinking', open: thinkingOpen }, h('summary', {}, thinkingOpen ? 'Thinking…' : 'Thought'), h('div', { class: 'thinking-text' }, thinking)) : null,
    h('div', { class: 'msg-text', 'data-testid': 'msg-answer' }, answer),
    message.error ? h('div', { class: 'msg-error', 'data-testid': 'msg-error' }, message.error) : null,
    message.meta ? h('div', { class: 'msg-meta', 'data-testid': 'msg-meta', 'data-node-id': message.meta.nodeId }, metaLine(message, selfId)) : null,
  )
}

/** The chat: streamed answers, a stop button, the thinking switch, history kept locally. */
export function mountChatView(root: HTMLElement, engine: LocalEngine, ask: AskFunction, conversations: Conversations, nodeId: string, report: (error: unknown) => void): void {
  const picker = h('select', { 'data-testid': 'chat-picker', 'aria-label': 'conversation' })
  const fresh = h('button', { type: 'button', 'data-testid': 'chat-new' }, 'New chat')
  const list = h('ol', { class: 'messages', 'data-testid': 'messages' })
  const input = h('textarea', { rows: 2, placeholder: 'Ask the swarm…', 'data-testid': 'chat-input' })
  const think = h('input', { type: 'checkbox', 'data-testid': 'chat-think' })
  const send = h('button', { type: 'submit', 'data-testid': 'chat-send' }, 'Send')
  const stop = h('button', { type: 'button', 'data-testid': 'chat-stop', hidden: true }, 'Stop')
  const route = h('select', { 'data-testid': 'chat-route', 'aria-label': 'where to run' }, h('option', { value: 'auto' }, 'auto'), h('option', { value: 'local' }, 'this device'), h('option', { value: 'swarm' }, 'a peer'), h('option', { value: 'relay' }, 'the relay'))
  const form = h('form', { class: 'chat-form' }, input, h('div', { class: 'row' }, h('label', { class: 'think-switch' }, think, ' think first'), h('label', { class: 'think-switch' }, 'run on ', route), h('span', { class: 'spacer' }), stop, send))
  root.append(h('div', { class: 'row chat-head' }, h('h2', {}, 'Chat'), h('span', { class: 'spacer' }), picker, fresh), list, form)

  let conversation: StoredConversation = conversations.create()
  let running: AbortController | null = null
  const render = onNextFrame(() => {
    list.replaceChildren(...conversation.messages.map((message) => messageRow(message, nodeId)))
    list.scrollTop = list.scrollHeight
  })
  const refreshPicker = async (): Promise<void> => {
    const recent = await conversations.recent()
    picker.replaceChildren(h('option', { value: conversation.id }, conversation.messages.length ? conversation.title : 'New chat'), ...recent.filter((item) => item.id !== conversation.id).map((item) => h('option', { value: item.id }, item.title)))
  }
  const open = (next: StoredConversation): void => {
    running?.abort()
    conversation = next
    render()
    refreshPicker().catch(report)
  }
  picker.addEventListener('change', () => {
    conversations.get(picker.value).then((found) => found && open(found), report)
  })
  fresh.addEventListener('click', () => open(conversations.create()))
  stop.addEventListener('click', () => running?.abort())

  const send_ = async (question: string): Promise<void> => {
    const current = conversation
    current.messages.push({ role: 'user', content: question })
    const answer: StoredMessage = { role: 'assistant', content: '' }
    current.messages.push(answer)
    render()
    await conversations.save(current)
    const controller = new AbortController()
    running = controller
    stop.hidden = false
    send.disabled = true
    const request: ChatRequest = { messages: current.messages.slice(0, -1).map(({ role, content }) => ({ role, content })), enable_thinking: think.checked, max_tokens: answerTokenLimit }
    const startedMs = performance.now()
    let firstMs = 0
    let lastSaveMs = startedMs
    let finish = 'stop'
    let tokens = 0
    try {
      const answered = ask(request, route.value === 'local' || route.value === 'swarm' || route.value === 'relay' ? route.value : 'auto', controller.signal)
      for await (const chunk of answered.chunks) {
        const text = chunk.choices[0].delta.content ?? ''
        if (text && !firstMs) firstMs = performance.now()
        answer.content += text
        if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason
        if (chunk.usage) tokens = chunk.usage.completion_tokens
        render()
        if (performance.now() - lastSaveMs > saveEveryMs) {
          lastSaveMs = performance.now()
          void conversations.save(current).catch(report)
        }
      }
      const status = engine.status()
      const decodeS = firstMs ? (performance.now() - firstMs) / 1000 : 0
      const local = answered.route === 'local'
      const note = answered.note()
      answer.meta = {
        engine: local ? status.kind : answered.route,
        model: answered.model(),
        nodeId: answered.answeredBy() || nodeId,
        ...(note ? { note } : {}),
        timeToFirstTokenMs: firstMs ? firstMs - startedMs : 0,
        tokensPerS: decodeS > 0 ? Math.max(0, tokens - 1) / decodeS : 0,
        finish,
      }
    } catch (error) {
      answer.error = error instanceof Error ? error.message : String(error)
    } finally {
      running = null
      stop.hidden = true
      send.disabled = false
      render()
      await conversations.save(current).catch(report)
      await refreshPicker().catch(report)
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const question = input.value.trim()
    if (!question || running) return
    input.value = ''
    send_(question).catch(report)
  })
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault()
      form.requestSubmit()
    }
  })

  conversations
    .recent(1)
    .then(([latest]) => open(latest ?? conversation))
    .catch(report)
}
