import { describe, expect, it } from 'vitest'
import { splitThinking } from '../../src/inference/think'
import { StopScanner } from '../../src/inference/stop'

describe('splitThinking', () => {
  it('separates a closed think part from the answer', () => {
    expect(splitThinking('<think>\nLet me see.\n</think>\n\nParis.')).toEqual({ thinking: 'Let me see.', answer: 'Paris.', thinkingOpen: false })
  })
  it('streams an open think part', () => {
    expect(splitThinking('<think>Hmm, the cap')).toEqual({ thinking: 'Hmm, the cap', answer: '', thinkingOpen: true })
  })
  it('an answer with no thinking is all answer; an empty think part is nothing', () => {
    expect(splitThinking('Paris.')).toEqual({ thinking: '', answer: 'Paris.', thinkingOpen: false })
    expect(splitThinking('<think>\n\n</think>\n\nParis.')).toEqual({ thinking: '', answer: 'Paris.', thinkingOpen: false })
  })
  it('holds back a half-streamed opening tag; a tag later in the text is text', () => {
    expect(splitThinking('<thi').answer).toBe('')
    expect(splitThinking('Use <think> tags').answer).toBe('Use <think> tags')
  })
})

describe('StopScanner', () => {
  it('cuts at the first stop sequence across chunk boundaries and never shows it', () => {
    const scanner = new StopScanner(['END', '\n\n'])
    const out = ['Hello E', 'N', 'D and more'].map((text) => scanner.push(text)).join('')
    expect(out).toBe('Hello ')
    expect(scanner.stopped).toBe(true)
    expect(scanner.push('ignored')).toBe('')
  })
  it('flushes the held-back tail when no stop comes', () => {
    const scanner = new StopScanner(['STOP'])
    const out = scanner.push('abcST') + scanner.push('O') + scanner.flush()
    expect(out).toBe('abcSTO')
    expect(scanner.stopped).toBe(false)
  })
  it('passes everything through with no stops', () => {
    const scanner = new StopScanner([])
    expect(scanner.push('a') + scanner.push('b') + scanner.flush()).toBe('ab')
  })
})
