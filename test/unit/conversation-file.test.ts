import { describe, expect, it } from 'vitest'
import { ConversationFileError, conversationFromMarkdown, conversationToMarkdown, conversationsFromFile, conversationsFromJson, conversationsToJson } from '../../src/memory/conversation-file'
import type { StoredConversation } from '../../src/memory/local-db'

const answer = [
  '# Heading',
  '',
  '- one',
  '- two',
  '',
  '```ts',
  'const x = 1',
  '```',
  '',
  '<img src=x onerror="alert(1)">',
  '<!-- edgeswarm:message {"role":"user","chars":3} -->',
  'trailing line',
].join('\n')

function sample(): StoredConversation {
  return {
    id: 'c1',
    title: 'Markdown, please -->',
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_100_000,
    summary: { turns: 1, text: 'earlier' },
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Show me\nsome Markdown\n\n## not a heading of ours\n' },
      {
        role: 'assistant',
        content: `<think>first</think>${answer}`,
        meta: { engine: 'wasm', model: 'tiny', nodeId: 'n1', timeToFirstTokenMs: 12.5, tokensPerS: 3.25, finish: 'stop', route: 'local', decision: { route: 'local', confidence: 0.8 }, rating: 'up' },
        memory: [{ id: 'm1', author: 'a1', verified: true, text: 'a fact' }],
        agent: { steps: [{ kind: 'call', step: 1, name: 'search', text: '{}', ok: true }], end: 'answer' },
      },
      { role: 'assistant', content: '', error: 'stopped' },
    ],
  }
}

describe('conversation files', () => {
  it('a JSON export reads back exactly', () => {
    const conversations = [sample(), { ...sample(), id: 'c2', messages: [] }]
    expect(conversationsFromJson(conversationsToJson(conversations))).toEqual(conversations)
  })

  it('a Markdown export is readable and reads back exactly, whatever the texts hold', () => {
    const markdown = conversationToMarkdown(sample())
    expect(markdown.startsWith('# Markdown, please -->\n')).toBe(true)
    expect(markdown).toContain('\n## User\n')
    expect(markdown).toContain('\n## Assistant\n')
    expect(markdown).toContain(answer)
    // No text can end a marker comment early.
    for (const line of markdown.split('\n').filter((line) => line.startsWith('<!-- edgeswarm:'))) expect(line.slice(4, -4)).not.toContain('-->')
    expect(conversationFromMarkdown(markdown)).toEqual(sample())
    expect(conversationsFromFile('chat.md', markdown)).toEqual([sample()])
  })

  it('says what is wrong with a bad file, and where', () => {
    const bad = (source: string, name = 'x.json'): string => {
      try {
        conversationsFromFile(name, source)
      } catch (error) {
        expect(error).toBeInstanceOf(ConversationFileError)
        return (error as Error).message
      }
      throw new Error('no error')
    }
    expect(bad('{nope')).toMatch(/^this file is not JSON/)
    expect(bad('{"conversations": []}')).toMatch(/not an edgeswarm conversation export/)
    expect(bad(JSON.stringify({ format: 'edgeswarm-conversations', version: 1, conversations: [] }))).toMatch(/holds no conversation/)
    const wrongRole = JSON.parse(conversationsToJson([sample()])) as { conversations: { messages: { role: string }[] }[] }
    const first = wrongRole.conversations[0]?.messages[1]
    if (first) first.role = 'robot'
    expect(bad(JSON.stringify(wrongRole))).toMatch(/conversations\.0\.messages\.1\.role: /)
    expect(bad(JSON.stringify({ format: 'edgeswarm-conversations', version: 2, conversations: [sample()] }))).toMatch(/version/)
    expect(bad('# Notes\n\nplain Markdown', 'notes.md')).toMatch(/not an edgeswarm conversation export/)
    const edited = conversationToMarkdown(sample()).replace('Be brief.', 'Be very brief.')
    expect(bad(edited, 'chat.md')).toMatch(/^message 1: its text is not 9 characters long/)
  })
})
