import { chunkFactory } from '../inference/chunks'
import type { ChatChunk } from '../inference/types'
import type { TaskEvent, TaskHandle } from './types'

/** A task event as the text its reader sees: a restart is said in brackets between paragraphs. */
export function taskEventText(event: TaskEvent): string {
  return event.type === 'text' ? event.text : `\n\n[${event.reason}: node ${event.executor.slice(0, 8)} starts over]\n\n`
}

/** A task's events as OpenAI chunks; a change of executor is said in the text, once. */
export async function* chunksOfTask(handle: TaskHandle, onExecutor: (nodeId: string) => void, signal?: AbortSignal): AsyncGenerator<ChatChunk> {
  const chunks = chunkFactory('swarm', `chatcmpl-${handle.id}`)
  const events = handle.chunks[Symbol.asyncIterator]()
  // Stopping ends this stream at once, whatever the market does with the cancelled task.
  const stopped = new Promise<IteratorResult<TaskEvent>>((resolve) => {
    if (signal?.aborted) resolve({ done: true, value: undefined })
    signal?.addEventListener('abort', () => resolve({ done: true, value: undefined }), { once: true })
  })
  let first = true
  let completed = false
  try {
    for (;;) {
      const ended: IteratorResult<TaskEvent> = { done: true, value: undefined }
      // Cancelling fails the task's stream; when we are the ones who stopped, that is just the end.
      const next = await Promise.race([events.next().catch((error: unknown) => (signal?.aborted ? ended : Promise.reject(error as Error))), stopped])
      if (next.done) break
      const event = next.value
      onExecutor(event.executor)
      yield chunks.content(taskEventText(event), first)
      first = false
    }
    completed = true
    if (signal?.aborted) {
      yield chunks.finish('abort')
      return
    }
    const result = await handle.result
    onExecutor(result.executor)
    yield chunks.finish(result.finish, result.usage)
  } finally {
    if (!completed || signal?.aborted) handle.cancel()
    void events.return?.()
  }
}
