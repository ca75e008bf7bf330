/** A GGUF's model id from its URL: the file name without `.gguf` or a split suffix (`Qwen3-1.7B-Q4_K_M`). */
export function modelIdOf(url: string): string {
  const file = new URL(url, 'http://x/').pathname.split('/').pop() ?? url
  return file.replace(/-\d{5}-of-\d{5}\.gguf$/, '').replace(/\.gguf$/, '')
}
