// "First paint of a long Markdown answer": a conversation whose answer is a long Markdown text
// with code blocks, opened in the chat of a real app tab (parse, sanitise, highlight, lay out),
// timed from the click that opens it to the first frame after it is in the page (performance
// marks around requestAnimationFrame). Also from choosing the file to import (read, validated, kept, painted).
import { chromium, type Page } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import { conversationFile, importConversations, knownConversation } from '../e2e/support/conversation-file'
import { appPath, freshRoom, readyNodeId } from '../e2e/support/nodes'
import { startRelay } from './relay-process'
import { fmt, median, runSection, table } from './stats'

const sizesKb = [5, 20, 80]
const runs = Number(process.env.BENCH_MARKDOWN_RUNS ?? 5)

const codeSamples = [
  '```ts\nexport function mean(values: readonly number[]): number {\n  // the average, 0 for none\n  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : 0\n}\n```',
  '```python\ndef mean(values):\n    """The average, 0 for none."""\n    return sum(values) / len(values) if values else 0\n```',
  '```bash\nfor file in *.md; do\n  wc -w "$file" # words per file\ndone\n```',
]

/** A Markdown answer of about `kb` kB: headings, paragraphs with emphasis and links, lists, code blocks; it ends with `marker`. */
export function longAnswer(kb: number, marker: string): string {
  const parts: string[] = []
  for (let section = 1; parts.join('\n\n').length < kb * 1000; section++) {
    parts.push(`## Part ${section}: how it works`)
    parts.push(
      `The **${section}th** step reads the *input*, checks it against [the spec](https://example.com/spec/${section}) and writes \`result_${section}\`. It keeps going until every case is covered, then says what it found.`,
    )
    parts.push(['- read the input', '- check each field', `- write \`out_${section}\``, '  1. first the header', '  2. then the rows'].join('\n'))
    parts.push(codeSamples[section % codeSamples.length] ?? '')
    parts.push(`> Note ${section}: a step that fails is retried once.`)
  }
  parts.push(`Done: ${marker}.`)
  return parts.join('\n\n')
}

/** Runs `trigger` in the page, then waits until `marker` is in an answer and one more frame has come: that frame paints it. */
function timedPaint(page: Page, trigger: { open: string } | { importFile: string }, marker: string): Promise<{ paintMs: number; renderMs: number }> {
  return page.evaluate(
    async ({ trigger, marker }) => {
      // No named functions in here: tsx would wrap them in a helper the page does not have.
      performance.clearMeasures('markdown-render')
      performance.mark('md-start')
      if ('open' in trigger) document.querySelector<HTMLButtonElement>(`[data-testid=chat-item][data-id="${trigger.open}"] [data-testid=chat-open]`)?.click()
      else {
        // What choosing a file does: the input's files change.
        const input = document.querySelector<HTMLInputElement>('[data-testid=chat-import-file]')
        const transfer = new DataTransfer()
        transfer.items.add(new File([trigger.importFile], 'long.json', { type: 'application/json' }))
        if (input) input.files = transfer.files
        input?.dispatchEvent(new Event('change'))
      }
      const deadline = performance.now() + 30_000
      while (![...document.querySelectorAll('[data-testid=msg-answer]')].some((answer) => answer.textContent.includes(marker))) {
        if (performance.now() > deadline) throw new Error(`the answer with ${marker} never showed`)
        await new Promise((resolve) => requestAnimationFrame(resolve))
      }
      await new Promise((resolve) => requestAnimationFrame(resolve))
      await new Promise((resolve) => setTimeout(resolve, 0))
      performance.mark('md-end')
      const renderMs = performance.getEntriesByName('markdown-render').reduce((sum, entry) => sum + entry.duration, 0)
      return { paintMs: performance.measure('md-first-paint', 'md-start', 'md-end').duration, renderMs }
    },
    { trigger, marker },
  )
}

export async function benchMarkdownPaint(): Promise<void> {
  const relay = await startRelay({ RELAY_STATIC_DIR: 'dist' })
  const browser = await chromium.launch(chromiumLaunchOptions())
  try {
    const page = await (await browser.newContext({ baseURL: relay.url })).newPage()
    await page.goto(appPath(freshRoom('bench-markdown'), { engine: 'none' }))
    await readyNodeId(page)
    const rows: string[][] = []
    for (const kb of sizesKb) {
      await runSection('markdown', `${kb} kB`, async () => {
        const marker = `marker-${kb}-kb`
        const answer = longAnswer(kb, marker)
        const id = `bench-long-${kb}`
        const small = `bench-small-${kb}`
        await importConversations(page, `${small}.json`, conversationFile([{ ...knownConversation(small, `Short ${kb}`, 'Short.'), updatedAt: 0 }]))
        const imported = await timedPaint(page, { importFile: conversationFile([knownConversation(id, `Long answer ${kb} kB`, answer)]) }, marker)
        const opened: { paintMs: number; renderMs: number }[] = []
        for (let run = 0; run < runs; run++) {
          await page.evaluate((small) => document.querySelector<HTMLButtonElement>(`[data-testid=chat-item][data-id="${small}"] [data-testid=chat-open]`)?.click(), small)
          await page.waitForFunction(() => document.querySelectorAll('[data-testid=msg-answer]').length === 1 && document.querySelector('[data-testid=msg-answer]')?.textContent.trim() === 'Short.')
          opened.push(await timedPaint(page, { open: id }, marker))
        }
        const codeBlocks = (answer.match(/```\w/g) ?? []).length
        const paints = opened.map((sample) => sample.paintMs)
        rows.push([
          `${fmt(answer.length / 1000, 1)} kB`,
          String(codeBlocks),
          fmt(median(paints)),
          fmt(Math.max(...paints)),
          fmt(median(opened.map((sample) => sample.renderMs))),
          fmt(imported.paintMs),
          String(runs),
        ])
      })
    }
    table(
      'First paint of a long Markdown answer (open the conversation → first frame with it; Markdown parse, DOMPurify, highlight.js, layout)',
      ['answer', 'code blocks', 'open → paint p50 ms', 'max ms', 'of which Markdown render p50 ms', 'import → paint ms', 'runs'],
      rows,
    )
  } finally {
    await browser.close()
    await relay.stop()
  }
}
