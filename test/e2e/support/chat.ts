import { expect, type Page } from '@playwright/test'

export const tinyModel = '/models/tiny-qwen3.gguf'
export const wasmTiny = { engine: 'wasm', model: tinyModel }

export async function engineState(page: Page): Promise<string | undefined> {
  return page.getByTestId('engine-view').evaluate((element) => (element as HTMLElement).dataset.engineState)
}

export async function expectEngineState(page: Page, state: string, timeout = 30_000): Promise<void> {
  await expect.poll(() => engineState(page), { timeout }).toBe(state)
}

/** Sends a question from the chat box; returns the locator of the answer that streams in. */
export async function ask(page: Page, question: string): Promise<void> {
  await page.getByTestId('chat-input').fill(question)
  await page.getByTestId('chat-send').click()
  await expect(page.getByTestId('msg-user').last()).toHaveText(question)
}

export async function lastAnswer(page: Page): Promise<string> {
  return (await page.getByTestId('msg-answer').last().textContent()) ?? ''
}
