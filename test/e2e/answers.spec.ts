import { expect, test } from '@playwright/test'
import { conversationFile, exported, importConversations, knownAnswer, knownCode, knownConversation, openConversations } from './support/conversation-file'
import { freshRoom, openNode, readyNodeId } from './support/nodes'
import { expectEngineState, lastAnswer, wasmTiny } from './support/chat'

const noEngine = { engine: 'none' }

test('an imported answer renders as Markdown with highlighted code, its HTML removed and never run; the copy buttons copy', async ({ browser }) => {
  const a = await openNode(browser, freshRoom('answers-md'), noEngine)
  try {
    await a.context.grantPermissions(['clipboard-read', 'clipboard-write'])
    await a.page.evaluate(() => Object.assign(window, { __pwned: 0 }))
    await importConversations(a.page, 'known.json', conversationFile([knownConversation('known-1', 'How do I add numbers')]))
    const answer = a.page.getByTestId('msg-answer')
    await expect(answer.locator('h1')).toHaveText('Adding numbers')
    await expect(answer.locator('strong')).toHaveText('how')
    await expect(answer.locator('ul > li')).toHaveText(['first, write the function', 'then call it'])
    await expect(answer.locator('pre code.hljs.language-typescript')).toHaveText(knownCode)
    expect(await answer.locator('pre code .hljs-keyword').count()).toBeGreaterThan(0)
    await expect(answer.locator('p code')).toHaveText('inline code')
    // The link opens apart; the javascript: one lost its href; the img lost its handler; the script is gone.
    const link = answer.locator('a', { hasText: 'link' })
    await expect(link).toHaveAttribute('href', 'https://example.com/docs')
    await expect(link).toHaveAttribute('target', '_blank')
    await expect(link).toHaveAttribute('rel', /noopener/)
    expect(await answer.locator('a', { hasText: 'bad' }).getAttribute('href')).toBeNull()
    expect(await answer.locator('[onerror], script, img').count()).toBe(0)
    await expect(answer.locator('.md-image')).toHaveText('image: x')
    expect(await a.page.locator('#app [onerror], #app script').count()).toBe(0)
    await a.page.waitForTimeout(300)
    expect(await a.page.evaluate(() => (window as unknown as { __pwned: number }).__pwned)).toBe(0)
    // The thinking part stays as it was shown: plain text in its own details.
    await expect(a.page.getByTestId('msg-thinking')).toContainText('The user wants code.')

    await answer.getByTestId('copy-code').click()
    await expect(answer.getByTestId('copy-code')).toHaveText('Copied')
    expect(await a.page.evaluate(() => navigator.clipboard.readText())).toBe(knownCode)
    await a.page.getByTestId('msg-copy').click()
    await expect(a.page.getByTestId('msg-copy')).toHaveText('Copied')
    expect(await a.page.evaluate(() => navigator.clipboard.readText())).toBe(knownAnswer)
  } finally {
    await a.context.close()
  }
})

test('export then import of a conversation round-trips exactly, as JSON and as Markdown; delete asks first; rename sticks; search filters by title', async ({ browser }) => {
  const a = await openNode(browser, freshRoom('answers-files'), noEngine)
  try {
    const original = [knownConversation('trip-1', 'Rivers of Europe'), { ...knownConversation('trip-2', 'Mountains of Asia', 'Short answer.'), updatedAt: 1_764_000_000_000 }]
    await importConversations(a.page, 'two.json', conversationFile(original))
    await openConversations(a.page)
    await expect(a.page.getByTestId('chat-open')).toHaveText(['Rivers of Europe', 'Mountains of Asia'])
    await expect(a.page.getByTestId('chat-count')).toHaveText('2 conversations')
    await expect(a.page.getByTestId('msg-user')).toHaveText(['Rivers of Europe?'])

    const json = await exported(a.page, 'chat-export-json')
    expect(json.name).toBe('rivers-of-europe.edgeswarm.json')
    const exportedFile = JSON.parse(json.text) as { conversations: unknown[] }
    expect(exportedFile.conversations).toEqual([original[0]])
    const markdown = await exported(a.page, 'chat-export-md')
    expect(markdown.name).toBe('rivers-of-europe.edgeswarm.md')
    expect(markdown.text).toContain('# Rivers of Europe')
    expect(markdown.text).toContain(knownAnswer)

    // Delete asks; Cancel keeps it, Delete removes it.
    await a.page.getByTestId('chat-delete').click()
    await expect(a.page.getByTestId('dialog')).toContainText('"Rivers of Europe" and its 2 messages')
    await a.page.getByTestId('dialog-cancel').click()
    await expect(a.page.getByTestId('chat-open')).toHaveCount(2)
    await a.page.getByTestId('chat-delete').click()
    await a.page.getByTestId('dialog-confirm').click()
    await expect(a.page.getByTestId('chat-open')).toHaveText(['Mountains of Asia'])
    await expect(a.page.getByTestId('chat-count')).toHaveText('1 conversation')

    // The JSON export imports back exactly: exporting it again gives the same file.
    await importConversations(a.page, json.name, json.text)
    await expect(a.page.getByTestId('msg-user')).toHaveText(['Rivers of Europe?'])
    expect((await exported(a.page, 'chat-export-json')).text).toBe(json.text)
    // So does the Markdown export, once the JSON copy is gone.
    await a.page.getByTestId('chat-delete').click()
    await a.page.getByTestId('dialog-confirm').click()
    await expect(a.page.getByTestId('chat-open')).toHaveText(['Mountains of Asia'])
    await importConversations(a.page, markdown.name, markdown.text)
    await expect(a.page.getByTestId('msg-user')).toHaveText(['Rivers of Europe?'])
    expect((await exported(a.page, 'chat-export-json')).text).toBe(json.text)

    // A bad file says what is wrong with it, where.
    const broken = JSON.parse(conversationFile([knownConversation('bad-1', 'Broken')])) as { conversations: { messages: { role: string }[] }[] }
    const message = broken.conversations[0]?.messages[0]
    if (message) message.role = 'robot'
    await importConversations(a.page, 'broken.json', JSON.stringify(broken))
    await expect(a.page.getByTestId('chat-file-error')).toContainText('broken.json was not imported: this conversation export does not read: conversations.0.messages.0.role:')
    await importConversations(a.page, 'notes.md', '# My notes\n\nnot an export')
    await expect(a.page.getByTestId('chat-file-error')).toContainText('not an edgeswarm conversation export')

    // Rename, then a reload: the name stays.
    await a.page.getByTestId('chat-rename').click()
    await a.page.getByTestId('dialog-input').fill('Danube and Rhine')
    await a.page.getByTestId('dialog-confirm').click()
    await expect(a.page.getByTestId('chat-open').first()).toHaveText('Danube and Rhine')
    await a.page.reload()
    await readyNodeId(a.page)
    await openConversations(a.page)
    await expect(a.page.getByTestId('chat-open')).toHaveText(['Danube and Rhine', 'Mountains of Asia'])

    // Search by title, focused with its shortcut.
    await a.page.evaluate(() => (document.activeElement instanceof HTMLElement ? document.activeElement.blur() : undefined))
    await a.page.keyboard.press('/')
    await expect(a.page.getByTestId('chat-search')).toBeFocused()
    await a.page.keyboard.type('mountain')
    await expect(a.page.getByTestId('chat-open')).toHaveText(['Mountains of Asia'])
    await expect(a.page.getByTestId('chat-count')).toHaveText('1 match')
    await a.page.getByTestId('chat-search').fill('zzz')
    await expect(a.page.getByTestId('chat-open')).toHaveCount(0)
    await expect(a.page.getByTestId('chat-count')).toHaveText('0 matches')
  } finally {
    await a.context.close()
  }
})

test('shortcuts: Alt+N opens a new chat, Ctrl+K finds the search, "/" typed in the chat box stays text; the theme follows the system unless chosen', async ({ browser }) => {
  const a = await openNode(browser, freshRoom('answers-keys'), noEngine)
  try {
    await importConversations(a.page, 'one.json', conversationFile([knownConversation('keys-1', 'Keyboard')]))
    await expect(a.page.getByTestId('msg-user')).toHaveText(['Keyboard?'])
    const input = a.page.getByTestId('chat-input')
    await input.click()
    await a.page.keyboard.type('a/b')
    await expect(input).toHaveValue('a/b')
    await a.page.keyboard.press('Shift+Enter')
    await expect(input).toHaveValue('a/b\n')
    // An unsent message holds the tab: an update that applied itself would lose it.
    const holds = (): Promise<string[]> => a.page.evaluate(() => globalThis.edgeswarm?.update.busy() ?? [])
    await expect.poll(holds).toContain('draft')
    await input.fill('')
    await expect.poll(holds).not.toContain('draft')
    await a.page.keyboard.press('Alt+N')
    await expect(a.page.getByTestId('msg-user')).toHaveCount(0)
    await a.page.keyboard.press('Control+K')
    await expect(a.page.getByTestId('chat-search')).toBeFocused()
    await expect(a.page.getByTestId('chat-input')).toHaveAttribute('aria-describedby', 'chat-shortcuts')
    await expect(a.page.locator('#chat-shortcuts')).toContainText('Esc stop')

    await a.page.emulateMedia({ colorScheme: 'dark' })
    await expect(a.page.locator('html')).toHaveAttribute('data-theme', 'dark')
    await a.page.emulateMedia({ colorScheme: 'light' })
    await expect(a.page.locator('html')).toHaveAttribute('data-theme', 'light')
    await a.page.getByTestId('theme').selectOption('dark')
    await a.page.reload()
    await readyNodeId(a.page)
    await expect(a.page.locator('html')).toHaveAttribute('data-theme', 'dark')
    const background = await a.page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())
    expect(background).toBe('#14161c')
  } finally {
    await a.context.close()
  }
})

test('Enter sends, Escape stops the streaming answer, and the live region says the answer once it is finished (not token by token)', async ({ browser }) => {
  const a = await openNode(browser, freshRoom('answers-stream'), wasmTiny)
  try {
    await expectEngineState(a.page, 'ready')
    const live = a.page.getByTestId('chat-live')
    await expect(live).toHaveAttribute('aria-live', 'polite')
    await a.page.getByTestId('chat-input').fill('Tell me a long story about rivers.')
    await a.page.keyboard.press('Enter')
    await expect(a.page.getByTestId('msg-user')).toHaveText(['Tell me a long story about rivers.'])
    await expect.poll(async () => (await lastAnswer(a.page)).length).toBeGreaterThan(20)
    await expect(live).toHaveText('Answering…')
    await a.page.keyboard.press('Escape')
    await expect(a.page.getByTestId('msg-meta').last()).toContainText('stopped')
    await expect(live).toHaveText(/^Answer: \S/)
  } finally {
    await a.context.close()
  }
})
