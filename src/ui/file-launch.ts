import { maxSummarizeChars } from './share-view'

/** The installed app's file handler (manifest file_handlers) hands files over through this; Chromium only. */
interface LaunchParams {
  files: readonly FileSystemHandle[]
}
interface LaunchQueue {
  setConsumer(consumer: (params: LaunchParams) => void): void
}

/** Files the file handler accepts (the manifest's `accept`), and the most bytes read of one. */
export const openableExtensions = ['.txt', '.md', '.markdown'] as const
export const maxOpenFileBytes = 1024 * 1024

export interface OpenedFile {
  name: string
  text: string
}

/**
 * Reads the files the app was opened with (`/open-file`) and hands each readable one to
 * `open`; one that is not text, empty or too large is told to `problem` in words for the user.
 * Returns false where the browser has no launch queue (not installed, or not Chromium).
 */
export function consumeLaunchedFiles(open: (file: OpenedFile) => void, problem: (message: string) => void): boolean {
  const queue = (window as { launchQueue?: LaunchQueue }).launchQueue
  if (!queue) return false
  queue.setConsumer((params) => {
    for (const handle of params.files) {
      if (handle.kind !== 'file') continue
      readOpened(handle as FileSystemFileHandle).then(
        (read) => ('problem' in read ? problem(read.problem) : open(read)),
        (error: unknown) => problem(`Could not read ${handle.name}: ${error instanceof Error ? error.message : String(error)}`),
      )
    }
  })
  return true
}

async function readOpened(handle: FileSystemFileHandle): Promise<OpenedFile | { problem: string }> {
  const name = handle.name
  if (!openableExtensions.some((extension) => name.toLowerCase().endsWith(extension))) return { problem: `${name} is not a text or Markdown file (.txt, .md): nothing to summarize.` }
  const file = await handle.getFile()
  if (file.size === 0) return { problem: `${name} is empty: nothing to summarize.` }
  if (file.size > maxOpenFileBytes) return { problem: `${name} is too large to summarize (${megabytes(file.size)}; the limit is ${megabytes(maxOpenFileBytes)}).` }
  const text = await file.text()
  if (text.trim() === '') return { problem: `${name} holds only blank space: nothing to summarize.` }
  if (text.length > maxSummarizeChars) return { problem: `${name} is too long to summarize (${text.length.toLocaleString('en')} characters; the limit is ${maxSummarizeChars.toLocaleString('en')}).` }
  return { name, text }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
