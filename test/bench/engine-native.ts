// The native side of the engine bench: llama.cpp through node-llama-cpp's prebuilt CPU binaries,
// on the same GGUF file, prompt and thread count as the browser runs.

/** One chat turn, rendered as Qwen3's template renders it with enable_thinking false. */
export function chatMlPrompt(content: string): string {
  return `<|im_start|>user\n${content}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n`
}

export interface SpeedSample {
  promptTokens: number
  generatedTokens: number
  prefillTokensPerS: number
  decodeTokensPerS: number
}

export interface NativeBench {
  /** The longest prefix of `words` whose chat prompt, content shaped by `shape`, fits in `tokens`. */
  fitPrompt(words: readonly string[], tokens: number, shape: (content: string) => string): string
  /** Prefill then greedy decode of `generate` tokens, in a fresh context, on `threads` threads. */
  measure(content: string, threads: number, generate: number): Promise<SpeedSample>
  dispose(): Promise<void>
}

export async function openNativeBench(modelPath: string, contextSize: number): Promise<NativeBench> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp')
  const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.error })
  try {
    const model = await llama.loadModel({ modelPath, gpuLayers: 0 })
    const tokenize = (content: string): number[] => model.tokenize(chatMlPrompt(content), true)
    return {
      fitPrompt: (words, tokens, shape) => {
        let count = words.length
        while (count > 1 && tokenize(shape(words.slice(0, count).join(' '))).length > tokens) count--
        return words.slice(0, count).join(' ')
      },
      measure: async (content, threads, generate) => {
        // A context per run: its threads end with it, so none spin while the browser side runs.
        const context = await model.createContext({ contextSize, threads })
        try {
          const prompt = model.tokenize(chatMlPrompt(content), true)
          const startedMs = performance.now()
          let firstTokenMs = 0
          let generated = 0
          // The end token does not stop this loop: the native side always generates `generate`.
          for await (const _token of context.getSequence().evaluate(prompt, { temperature: 0 })) {
            generated++
            if (generated === 1) firstTokenMs = performance.now()
            if (generated >= generate) break
          }
          const endedMs = performance.now()
          return {
            promptTokens: prompt.length,
            generatedTokens: generated,
            prefillTokensPerS: prompt.length / ((firstTokenMs - startedMs) / 1000),
            decodeTokensPerS: (generated - 1) / ((endedMs - firstTokenMs) / 1000),
          }
        } finally {
          await context.dispose()
        }
      },
      dispose: () => llama.dispose(),
    }
  } catch (error) {
    await llama.dispose()
    throw error
  }
}
