// History fitting on a 40-turn chat: prompt tokens sent with and without the fit, counted with
// the tiny Qwen3 GGUF's own tokenizer (the BPE the wasm engine builds from the file's header).
import { readFileSync } from 'node:fs'
import { fitHistory, stripEarlierThinking, type HistorySummary } from '../../src/inference/fit'
import { summaryMessage } from '../../src/inference/fit-request'
import { BpeTokenizer } from '../../src/inference/tokenizer/bpe'
import { readGgufHeader } from '../../src/inference/tokenizer/gguf-header'
import { generationPromptTokens, messageFrameText } from '../../src/inference/tokens'
import type { ChatMessage } from '../../src/inference/types'
import { fmt, table } from './stats'

const turns = 40
const answerTokens = 2048
const words = 'the river city people live work water year history market bridge north light house story answer question think because first three small great change learn'.split(' ')

function text(seed: number, count: number): string {
  let state = seed
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    out.push(words[state % words.length] ?? 'the')
  }
  return out.join(' ')
}

interface ChatFigures {
  sentTokens: number
  unfittedTokens: number
  overflowing: number
  lastDropped: number
  lastSummarised: number
}

/** 40 turns, each asked with the whole history so far: what is sent fitted, and what would be sent unfitted. */
function simulate(tokenizer: BpeTokenizer, contextSize: number, withSummaries: boolean): ChatFigures {
  const count = (messages: readonly ChatMessage[]): number[] => messages.map((message) => tokenizer.count(messageFrameText(message)))
  const history: ChatMessage[] = [{ role: 'system', content: 'You are a helpful assistant of the edgeswarm room.' }]
  const figures: ChatFigures = { sentTokens: 0, unfittedTokens: 0, overflowing: 0, lastDropped: 0, lastSummarised: 0 }
  let summary: HistorySummary | null = null
  for (let turn = 0; turn < turns; turn++) {
    history.push({ role: 'user', content: `${text(turn * 7 + 1, 40)}?` })
    const unfitted = count(history).reduce((a, b) => a + b, generationPromptTokens)
    figures.unfittedTokens += unfitted
    if (unfitted + answerTokens / 2 > contextSize) figures.overflowing++
    const { messages } = stripEarlierThinking(history)
    const extra = summary ? summaryMessage(summary) : null
    const fitted = fitHistory(messages, {
      contextSize,
      maxTokens: answerTokens,
      counts: count(messages),
      summary: extra && summary ? { turns: summary.turns, message: extra, tokens: count([extra])[0] ?? 0 } : null,
    })
    figures.sentTokens += fitted.report.promptTokens
    figures.lastDropped = fitted.report.dropped
    figures.lastSummarised = fitted.report.summarised
    // A summary of about 160 tokens stands in for what was left out, as the chat writes one.
    if (withSummaries && fitted.report.dropped > 0) summary = { turns: fitted.report.summarised + fitted.report.dropped, text: text(turn * 13 + 5, 120) }
    history.push({ role: 'assistant', content: `<think>\n${text(turn * 11 + 3, 250)}\n</think>\n\n${text(turn * 5 + 2, 180)}` })
  }
  return figures
}

export async function benchContext(): Promise<void> {
  const tokenizer = new BpeTokenizer(await readGgufHeader(new Blob([readFileSync('test/fixtures/tiny-qwen3.gguf')])))
  const rows: string[][] = []
  for (const contextSize of [4096, 8192, 32_768]) {
    for (const withSummaries of [false, true]) {
      const figures = simulate(tokenizer, contextSize, withSummaries)
      rows.push([
        String(contextSize),
        withSummaries ? 'summarise + drop' : 'drop only',
        String(figures.unfittedTokens),
        String(figures.sentTokens),
        `${fmt((1 - figures.sentTokens / figures.unfittedTokens) * 100)} %`,
        `${figures.overflowing} of ${turns}`,
        `${figures.lastSummarised} / ${figures.lastDropped}`,
      ])
    }
  }
  table(
    `History fitting, ${turns}-turn chat (think parts of ~250 words, answers of ~180), prompt tokens summed over all ${turns} requests, tiny Qwen3 tokenizer, answer room min(${answerTokens}, window/2)`,
    ['window', 'fit', 'unfitted tokens', 'sent tokens', 'saved', 'requests that overflow unfitted', 'last turn: summarised / dropped'],
    rows,
  )
}
