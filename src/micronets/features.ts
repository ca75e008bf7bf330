/**
 * What the router reads of a chat request: OpenAI's shape, declared here so the micro-nets sit
 * below the inference layer (an inference ChatRequest fits it).
 */
export interface RoutedRequest {
  messages: readonly { role: string; content: string }[]
  max_tokens?: number | undefined
  enable_thinking?: boolean | undefined
}

/** What the router reads of a request, each scaled to about [0, 1]; the order is the net's input order. */
export const routerFeatureNames = [
  'promptLength',
  'conversationLength',
  'historyTurns',
  'codeBlocks',
  'codeTokens',
  'mathSymbols',
  'mathWords',
  'nonLatinShare',
  'translation',
  'questions',
  'depthWords',
  'simpleWords',
  'constraints',
  'listItems',
  'thinkingRequested',
  'longAnswerRequested',
] as const
export type RouterFeatureName = (typeof routerFeatureNames)[number]
export const routerFeatureCount = routerFeatureNames.length

const depthPattern =
  /\b(prove|proof|derive|step[- ]by[- ]step|explain why|analy[sz]e|compare|trade-?offs?|in depth|in detail|rigorous|optimi[sz]e|design|architect|evaluate|critique|justify|formal)\b/gi
const simplePattern = /\b(hi|hello|thanks|thank you|what is|who is|define|translate|summari[sz]e|list|name|spell|convert|rephrase|capital of|synonym)\b/gi
const mathWordPattern = /\b(integral|derivative|theorem|lemma|equation|matrix|eigen\w*|probability|prime|polynomial|limit|converge\w*|inequality|modulo|factori[sz]e|solve)\b/gi
const mathSymbolPattern = /[=+\-*/^∑∫√≤≥≠π]|\\[a-z]+/g
const codeTokenPattern = /\b(function|def|class|return|import|const|let|var|async|await|struct|impl|fn|public|private|SELECT|FROM|WHERE)\b|[{};]|=>|::/g
const constraintPattern = /\b(must|exactly|at least|at most|without|only|never|always|no more than|in (json|yaml|csv))\b/gi
const translationPattern = /\b(translate|in (french|german|spanish|japanese|chinese|russian|arabic|italian))\b/gi
const listItemPattern = /^\s*(\d+[.)]|[-*•])\s+/gm

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0
}

/** log1p(value) / log1p(scale): 0 at 0, 1 at `scale`, growing slowly past it. */
function logScaled(value: number, scale: number): number {
  return Math.log1p(value) / Math.log1p(scale)
}

function saturating(value: number, scale: number): number {
  return Math.min(1, value / scale)
}

function nonLatinShare(text: string): number {
  const letters = text.match(/\p{L}/gu) ?? []
  if (letters.length === 0) return 0
  return letters.filter((letter) => !/[A-Za-z]/.test(letter)).length / letters.length
}

/** The router's inputs for `request`: read from its last user message and its history. */
export function routerFeatures(request: RoutedRequest): Float32Array {
  const messages = request.messages
  const lastUser = [...messages].reverse().find((message) => message.role === 'user')?.content ?? ''
  const conversationChars = messages.reduce((sum, message) => sum + message.content.length, 0)
  const words = Math.max(1, lastUser.split(/\s+/).filter(Boolean).length)
  const values: Record<RouterFeatureName, number> = {
    promptLength: logScaled(lastUser.length, 8_000),
    conversationLength: logScaled(conversationChars, 32_000),
    historyTurns: logScaled(Math.max(0, messages.length - 1), 32),
    codeBlocks: saturating(count(lastUser, /```/g) / 2, 4),
    codeTokens: saturating(count(lastUser, codeTokenPattern) / words, 0.5),
    mathSymbols: saturating(count(lastUser, mathSymbolPattern) / words, 1),
    mathWords: saturating(count(lastUser, mathWordPattern), 3),
    nonLatinShare: nonLatinShare(lastUser),
    translation: saturating(count(lastUser, translationPattern), 1),
    questions: saturating(count(lastUser, /\?/g), 5),
    depthWords: saturating(count(lastUser, depthPattern), 3),
    simpleWords: saturating(count(lastUser, simplePattern), 2),
    constraints: saturating(count(lastUser, constraintPattern), 4),
    listItems: saturating(count(lastUser, listItemPattern), 6),
    thinkingRequested: request.enable_thinking === true ? 1 : 0,
    longAnswerRequested: logScaled(request.max_tokens ?? 0, 8_192),
  }
  return Float32Array.from(routerFeatureNames, (name) => values[name])
}
