import { splitThinking } from '../inference/think'
import { fitNote } from '../inference/fit'
import type { ChatRequest } from '../inference/types'
import type { ConversationContext } from '../swarm/context/fitted-chat'
import type { RouteChoice, RoutedAnswer } from '../swarm/routing/chat-router'
import type { PlanHandle } from '../swarm/plan/planner'
import type { StepView } from '../market/plan'
import type { Conversations } from '../memory/conversations'
import type { StoredConversation, StoredMessage } from '../memory/local-db'
import type { ChatSettings } from '../memory/settings'
import type { QuotedEntry } from '../swarm/memory-quote'
import { agentStepLimit, runAgent } from '../swarm/agent/loop'
import type { AgentToolDeps } from '../swarm/agent/tools'
import { recordStep, type PendingAdd } from './agent-view'
import { messageRow, type Action } from './message-row'
import { h, onNextFrame } from './dom'
import type { Busy } from '../shared/busy'
import { plural } from '../shared/text'
import { mountConversationBar } from './conversation-bar'
import { bindChatShortcuts, shortcutHelp } from './shortcuts'
import { copyFrom } from './copy'

const saveEveryMs = 1_500
/** Room for Qwen3's thinking and a full answer; a 1.7B model rarely needs more. */
const answerTokenLimit = 2048

export type AskFunction = (request: ChatRequest, route: RouteChoice, signal: AbortSignal, context?: ConversationContext) => Promise<RoutedAnswer>
/** What the user can say of an answer; the router learns from those on the small model's answers. */
export type AnswerFeedback = 'thumbs-up' | 'thumbs-down' | 'regenerate' | 'escalate'

export interface ChatActions {
  ask: AskFunction
  /** `request` is what the answer was asked with. */
  feedback: (request: ChatRequest, signal: AnswerFeedback) => void
  /** `request` with the room's memory for its question quoted in, and the entries quoted. */
  quoteMemory: (request: ChatRequest) => Promise<{ request: ChatRequest; quoted: QuotedEntry[] }>
  /** The chat's switches, remembered for this room. */
  settings: { load(): Promise<Partial<ChatSettings>>; save(settings: ChatSettings): Promise<void> }
  /** What the agent's tools act on (the user's confirmation of an add is asked here, in the chat). */
  agentTools: Omit<AgentToolDeps, 'confirmAdd'>
  /** Has the swarm plan and answer `goal` (the planner's handle). */
  plan: (goal: string) => PlanHandle
  /** Held while an answer streams: a new version of the app waits for it. */
  busy: Busy
}

/** A plan's progress as a Markdown list, one item per step, shown in the chat until its answer comes. */
function planProgress(steps: readonly StepView[]): string {
  if (!steps.length) return 'Planning…'
  return steps.map((step) => `- ${step.id} ${step.role}: ${step.state}${step.executor ? ` (${step.executor.slice(0, 8)})` : ''}`).join('\n')
}

/** The chat: streamed answers, a stop button, the thinking switch, history kept locally. */
export function mountChatView(root: HTMLElement, actions: ChatActions, conversations: Conversations, nodeId: string, report: (error: unknown) => void): void {
  const fresh = h('button', { type: 'button', 'data-testid': 'chat-new', 'aria-keyshortcuts': 'Alt+N', title: 'New chat (Alt+N)' }, 'New chat')
  const list = h('ol', { class: 'messages', 'data-testid': 'messages', 'aria-label': 'messages' })
  const input = h('textarea', { id: 'chat-input', rows: 2, placeholder: 'Ask the swarm…', 'data-testid': 'chat-input', 'aria-describedby': 'chat-shortcuts' })
  // The streamed answer is announced once it is complete, not token by token.
  const live = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true', 'data-testid': 'chat-live' })
  const think = h('input', { type: 'checkbox', 'data-testid': 'chat-think' })
  const useMemory = h('input', { type: 'checkbox', 'data-testid': 'chat-use-memory' })
  const agent = h('input', { type: 'checkbox', 'data-testid': 'chat-agent' })
  const send = h('button', { type: 'submit', 'data-testid': 'chat-send', 'aria-keyshortcuts': 'Enter', title: 'Send (Enter)' }, 'Send')
  const planButton = h('button', { type: 'button', 'data-testid': 'chat-plan', title: 'A model breaks the question into steps; the peers of the room run them' }, 'Plan with the swarm')
  const stop = h('button', { type: 'button', 'data-testid': 'chat-stop', hidden: true, 'aria-keyshortcuts': 'Escape', title: 'Stop (Esc)' }, 'Stop')
  const route = h(
    'select',
    { 'data-testid': 'chat-route', 'aria-label': 'where to run' },
    h('option', { value: 'auto' }, 'auto'),
    h('option', { value: 'local' }, 'this device'),
    h('option', { value: 'swarm' }, 'a peer'),
    h('option', { value: 'relay' }, 'the relay'),
  )
  const form = h(
    'form',
    { class: 'chat-form' },
    h('label', { for: 'chat-input', class: 'visually-hidden' }, 'Your message to the swarm'),
    input,
    h(
      'div',
      { class: 'row' },
      h('label', { class: 'think-switch' }, think, ' think first'),
      h('label', { class: 'think-switch' }, useMemory, ' use room memory'),
      h('label', { class: 'think-switch' }, agent, ' let the model act'),
      h('label', { class: 'think-switch' }, 'run on ', route),
      h('span', { class: 'spacer' }),
      stop,
      planButton,
      send,
    ),
    h('p', { class: 'shortcut-help', id: 'chat-shortcuts' }, shortcutHelp),
  )

  let conversation: StoredConversation = conversations.create()
  let running: AbortController | null = null
  let releaseBusy = (): void => undefined
  /** The agent's add waiting for the user, and how to answer it. */
  let pendingAdd: (PendingAdd & { answer: (yes: boolean) => void }) | null = null
  const render = onNextFrame(() => {
    const lastIndex = conversation.messages.length - 1
    list.replaceChildren(...conversation.messages.map((message, index) => messageRow(message, nodeId, index, index === lastIndex, running !== null, index === lastIndex ? pendingAdd : null)))
    list.scrollTop = list.scrollHeight
  })
  const open = (next: StoredConversation): void => {
    running?.abort()
    conversation = next
    render()
    refreshPicker().catch(report)
  }
  const startFresh = (): void => open(conversations.create())
  const bar = mountConversationBar({ conversations, current: () => conversation, open, fresh: startFresh, report })
  const refreshPicker = bar.refresh
  root.append(h('div', { class: 'row chat-head' }, h('h2', {}, 'Chat'), h('span', { class: 'spacer' }), fresh), bar.element, list, live, form)
  fresh.addEventListener('click', startFresh)
  stop.addEventListener('click', () => running?.abort())

  /** An answer starts: the stop button shows, asking waits. */
  const begin = (current: StoredConversation, answer: StoredMessage): AbortController => {
    current.messages.push(answer)
    const controller = new AbortController()
    running = controller
    releaseBusy()
    releaseBusy = actions.busy.hold('answer')
    stop.hidden = false
    send.disabled = planButton.disabled = true
    live.textContent = 'Answering…'
    render()
    return controller
  }
  /** Says the finished answer to a screen reader, once. */
  const announce = (answer: StoredMessage | undefined): void => {
    if (answer?.role !== 'assistant') return
    live.textContent = answer.error ? `The answer failed: ${answer.error}` : `Answer: ${splitThinking(answer.content).answer.trim() || '(empty)'}`
  }
  /** The answer ended, one way or another: saved, and the chat is ready for the next question. */
  const end = async (current: StoredConversation): Promise<void> => {
    running = null
    releaseBusy()
    stop.hidden = true
    send.disabled = planButton.disabled = false
    announce(current.messages.at(-1))
    render()
    await conversations.save(current).catch(report)
    await refreshPicker().catch(report)
  }

  /** Runs the user's last message as a plan on the swarm; its steps show as they go, then the final answer. */
  const runPlan = async (goal: string): Promise<void> => {
    const current = conversation
    const answer: StoredMessage = { role: 'assistant', content: 'Planning…' }
    const controller = begin(current, answer)
    const startedMs = performance.now()
    const handle = actions.plan(goal)
    controller.signal.addEventListener('abort', () => handle.cancel(), { once: true })
    const unsubscribe = handle.on('step', () => {
      answer.content = planProgress(handle.steps())
      render()
    })
    try {
      answer.content = await handle.result
      const steps = handle.steps()
      const final = steps.at(-1)
      answer.meta = {
        engine: 'swarm plan',
        model: plural(steps.length, 'step', 'steps'),
        nodeId: final?.executor ?? nodeId,
        route: 'swarm',
        note: `plan: ${steps.map((step) => `${step.id} ${step.role} by ${step.executor === nodeId ? 'this node' : (step.executor ?? '?').slice(0, 8)}`).join(', ')}`,
        timeToFirstTokenMs: performance.now() - startedMs,
        tokensPerS: 0,
        finish: 'stop',
      }
    } catch (error) {
      answer.error = error instanceof Error ? error.message : String(error)
    } finally {
      unsubscribe()
      await end(current)
    }
  }
  // A message being written holds the tab too: an update that reloaded by itself would lose it.
  let releaseDraft: (() => void) | null = null
  const watchDraft = (): void => {
    const writing = input.value.trim() !== ''
    if (writing && !releaseDraft) releaseDraft = actions.busy.hold('draft')
    if (!writing && releaseDraft) {
      releaseDraft()
      releaseDraft = null
    }
  }
  input.addEventListener('input', watchDraft)
  planButton.addEventListener('click', () => {
    const goal = input.value.trim()
    if (!goal || running) return
    input.value = ''
    watchDraft()
    conversation.messages.push({ role: 'user', content: goal })
    runPlan(goal).catch(report)
  })

  /** Streams an answer to the conversation as it stands (ending with the user's message). */
  const runAnswer = async (routeChoice: RouteChoice): Promise<void> => {
    const current = conversation
    const asked: ChatRequest = { messages: current.messages.map(({ role, content }) => ({ role, content })), enable_thinking: think.checked, max_tokens: answerTokenLimit }
    const answer: StoredMessage = { role: 'assistant', content: '' }
    const controller = begin(current, answer)
    await conversations.save(current)
    const startedMs = performance.now()
    let firstMs = 0
    let lastSaveMs = startedMs
    let finish = 'stop'
    let tokens = 0
    try {
      // The quoted entries travel inside the request's messages, whichever route runs it.
      const { request, quoted } = useMemory.checked ? await actions.quoteMemory(asked) : { request: asked, quoted: [] }
      if (quoted.length > 0) answer.memory = quoted
      render()
      const context: ConversationContext = {
        summary: current.summary ?? null,
        saveSummary: async (summary) => {
          current.summary = summary
          await conversations.save(current)
        },
        onError: report,
      }
      const answered = await actions.ask(request, routeChoice, controller.signal, context)
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
      const decodeS = firstMs ? (performance.now() - firstMs) / 1000 : 0
      const note = answered.note()
      const fit = answered.fit()
      const fitted = fit ? fitNote(fit.report) : ''
      answer.meta = {
        // This node's own answers say which of its engines ran (webgpu, wasm); others, where they ran.
        engine: answered.route === 'local' ? answered.engine() : answered.route,
        model: answered.model(),
        nodeId: answered.answeredBy() || nodeId,
        route: answered.route,
        ...(answered.decision ? { decision: { route: answered.decision.route, confidence: answered.decision.confidence } } : {}),
        ...(note ? { note } : {}),
        ...(fitted ? { fit: fit?.exact === false ? `${fitted} (estimated count)` : fitted } : {}),
        timeToFirstTokenMs: firstMs ? firstMs - startedMs : 0,
        tokensPerS: decodeS > 0 ? Math.max(0, tokens - 1) / decodeS : 0,
        finish,
      }
    } catch (error) {
      answer.error = error instanceof Error ? error.message : String(error)
    } finally {
      await end(current)
    }
  }

  /** Shows the add to the user and waits for their answer; a stop answers no. */
  const confirmAdd = (text: string, signal: AbortSignal): Promise<boolean> =>
    new Promise((resolve) => {
      const answer = (yes: boolean): void => {
        signal.removeEventListener('abort', onStop)
        pendingAdd = null
        render()
        resolve(yes)
      }
      const onStop = (): void => answer(false)
      if (signal.aborted) return resolve(false)
      signal.addEventListener('abort', onStop, { once: true })
      pendingAdd = { text, answer }
      render()
    })

  /** Lets the model act on the question with the built-in tools, each step shown as it happens. */
  const runAgentAnswer = async (question: string, routeChoice: RouteChoice): Promise<void> => {
    const current = conversation
    const answer: StoredMessage = { role: 'assistant', content: '', agent: { steps: [] } }
    const run = answer.agent ?? { steps: [] }
    current.messages.push(answer)
    const controller = new AbortController()
    running = controller
    releaseBusy()
    releaseBusy = actions.busy.hold('answer')
    stop.hidden = false
    send.disabled = true
    render()
    try {
      await conversations.save(current)
      const end = await runAgent(
        question,
        { ...actions.agentTools, confirmAdd, chat: async (request, signal) => (await actions.ask(request, routeChoice, signal)).chunks },
        { maxSteps: agentStepLimit.default, signal: controller.signal, onStep: (step) => (recordStep(run, step), render()) },
      )
      run.end = end.reason
      if (end.reason === 'answer') answer.content = end.answer
    } catch (error) {
      run.end = 'failed'
      answer.error = error instanceof Error ? error.message : String(error)
    } finally {
      running = null
      releaseBusy()
      pendingAdd = null
      stop.hidden = true
      send.disabled = false
      announce(answer)
      render()
      await conversations.save(current).catch(report)
      await refreshPicker().catch(report)
    }
  }

  const send_ = async (question: string): Promise<void> => {
    conversation.messages.push({ role: 'user', content: question })
    const routeChoice = route.value === 'local' || route.value === 'swarm' || route.value === 'relay' ? route.value : 'auto'
    await (agent.checked ? runAgentAnswer(question, routeChoice) : runAnswer(routeChoice))
  }

  /** Thumbs, ask again, or ask the relay: the router learns from what is said of the small model's answers. */
  const act = async (action: Action, index: number): Promise<void> => {
    const current = conversation
    const message = current.messages[index]
    if (running || message?.role !== 'assistant' || !message.meta) return
    const asked: ChatRequest = { messages: current.messages.slice(0, index).map(({ role, content }) => ({ role, content })) }
    const smallModel = message.meta.route !== 'relay'
    if (action === 'up' || action === 'down') {
      if (message.meta.rating === action) return
      message.meta.rating = action
      if (smallModel) actions.feedback(asked, action === 'up' ? 'thumbs-up' : 'thumbs-down')
      render()
      await conversations.save(current)
      return
    }
    if (index !== current.messages.length - 1) return
    if (smallModel) actions.feedback(asked, action)
    current.messages.pop()
    const ranOn = message.meta.route
    await runAnswer(action === 'escalate' ? 'relay' : ranOn === 'local' || ranOn === 'swarm' || ranOn === 'relay' ? ranOn : 'auto')
  }
  list.addEventListener('click', (event) => {
    const button = (event.target as Element | null)?.closest('button[data-action]')
    if (!(button instanceof HTMLButtonElement)) return
    const action = button.dataset.action
    if (action === 'copy-code' || action === 'copy-answer') return copyFrom(button, action === 'copy-code' ? codeOf(button) : answerSource(Number(button.dataset.index)), report)
    if (action === 'agent-add' || action === 'agent-decline') return pendingAdd?.answer(action === 'agent-add')
    if (action !== 'up' && action !== 'down' && action !== 'regenerate' && action !== 'escalate') return
    act(action, Number(button.dataset.index)).catch(report)
  })

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const question = input.value.trim()
    if (!question || running) return
    input.value = ''
    watchDraft()
    send_(question).catch(report)
  })
  const answerSource = (index: number): string => {
    const message = conversation.messages[index]
    return message ? splitThinking(message.content).answer.trim() : ''
  }
  const codeOf = (button: Element): string => button.closest('pre')?.querySelector('code')?.textContent ?? ''
  bindChatShortcuts({
    input,
    send: () => form.requestSubmit(),
    stop: () => {
      if (!running) return false
      running.abort()
      return true
    },
    newChat: startFresh,
    focusSearch: bar.focusSearch,
  })

  const saveSettings = (): void => void actions.settings.save({ useMemory: useMemory.checked, agent: agent.checked }).catch(report)
  useMemory.addEventListener('change', saveSettings)
  agent.addEventListener('change', saveSettings)
  actions.settings
    .load()
    .then((saved) => {
      useMemory.checked = saved.useMemory ?? false
      agent.checked = saved.agent ?? false
    })
    .catch(report)

  conversations
    .recent(1)
    .then(([latest]) => open(latest ?? conversation))
    .catch(report)
}
