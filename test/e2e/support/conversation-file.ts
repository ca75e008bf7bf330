import { expect, type Page } from '@playwright/test'
import { readFile } from 'node:fs/promises'

/** The code block of the known answer, as the user must get it back from its copy button. */
export const knownCode = 'function add(a: number, b: number): number {\n  return a + b // sum\n}'

/** An answer with Markdown, a code block, and HTML that must never run (it sets window.__pwned). */
export const knownAnswer = [
  '# Adding numbers',
  '',
  'Here is **how**, with a [link](https://example.com/docs):',
  '',
  '- first, write the function',
  '- then call it',
  '',
  '```ts',
  knownCode,
  '```',
  '',
  '<img src=x onerror="window.__pwned = 1">',
  '',
  '<script>window.__pwned = 2</script>',
  '',
  '[bad](javascript:window.__pwned=3) and `inline code`.',
].join('\n')

export interface FileConversation {
  id: string
  title: string
  createdAt: number
  updatedAt: number
  messages: Record<string, unknown>[]
}

export function knownConversation(id: string, title: string, answer = knownAnswer): FileConversation {
  return {
    id,
    title,
    createdAt: 1_764_000_000_000,
    updatedAt: 1_764_000_060_000,
    messages: [
      { role: 'user', content: `${title}?` },
      {
        role: 'assistant',
        content: `<think>The user wants code.</think>${answer}`,
        meta: { engine: 'wasm', model: 'tiny-qwen3', nodeId: 'f'.repeat(64), timeToFirstTokenMs: 120, tokensPerS: 14.5, finish: 'stop', route: 'local', rating: 'up' },
      },
    ],
  }
}

export function conversationFile(conversations: FileConversation[]): string {
  return JSON.stringify({ format: 'edgeswarm-conversations', version: 1, conversations })
}

/** Imports a file through the chat's import control (the user's own path). */
export async function importConversations(page: Page, name: string, text: string): Promise<void> {
  await page.getByTestId('chat-import-file').setInputFiles({ name, mimeType: name.endsWith('.md') ? 'text/markdown' : 'application/json', buffer: Buffer.from(text) })
}

export async function openConversations(page: Page): Promise<void> {
  const bar = page.getByTestId('conversations')
  if ((await bar.getAttribute('open')) === null) await bar.locator('summary').click()
  await expect(bar).toHaveAttribute('open', '')
}

/** Clicks an export button and reads back the file the page saved. */
export async function exported(page: Page, testId: 'chat-export-json' | 'chat-export-md'): Promise<{ name: string; text: string }> {
  const download = page.waitForEvent('download')
  await page.getByTestId(testId).click()
  const file = await download
  return { name: file.suggestedFilename(), text: await readFile(await file.path(), 'utf8') }
}
