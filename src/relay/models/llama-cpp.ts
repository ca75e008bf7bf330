// node-llama-cpp, loaded only when the embedded backend runs, and optional: where it or its
// prebuilt binaries for this platform are missing, the embedded backend fails with one message
// that says so, and the rest of the relay (the app, signaling, upstreams, the swarm) runs on.
import type { Llama } from 'node-llama-cpp'
import { registerError } from '../../shared/errors'

export type LlamaCpp = typeof import('node-llama-cpp')

/** How node-llama-cpp is imported; a test passes one that fails as a missing package does. */
export type ImportLlamaCpp = () => Promise<LlamaCpp>

/** The embedded backend cannot run on this machine: node-llama-cpp or its binaries are missing. */
export class EmbeddedUnavailableError extends Error {
  static {
    registerError((message) => new this(message))
  }
  override readonly name = 'EmbeddedUnavailableError'
}

const platform = `${process.platform}-${process.arch}`

/** The one message for a missing node-llama-cpp or binary, with what went wrong. */
export function unavailableMessage(cause: string): string {
  return (
    `the embedded backend needs node-llama-cpp's prebuilt binaries for ${platform}; ${cause}. ` +
    `Install them (npm install with optional dependencies: node-llama-cpp and @node-llama-cpp/${platform}), or unset RELAY_MODEL and RELAY_MODEL_PATH; ` +
    'the rest of the relay (the app, signaling, upstreams, the swarm) runs without them'
  )
}

/** The first line of what went wrong, in parentheses; nothing when it only repeats the error's name. */
function reasonOf(error: unknown): string {
  const line = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.trim() ?? ''
  return line === '' || (error instanceof Error && line === error.name) ? '' : ` (${line})`
}

/** node-llama-cpp's module; a failed import throws EmbeddedUnavailableError. */
export async function importLlamaCpp(importer: ImportLlamaCpp = () => import('node-llama-cpp')): Promise<LlamaCpp> {
  try {
    return await importer()
  } catch (error) {
    throw new EmbeddedUnavailableError(unavailableMessage(`node-llama-cpp could not be loaded${reasonOf(error)}`))
  }
}

/** llama.cpp's bindings, never built or downloaded here; no usable binary for this platform throws EmbeddedUnavailableError. */
export async function openLlama(llamaCpp: LlamaCpp, gpu: boolean): Promise<Llama> {
  try {
    return await llamaCpp.getLlama({ gpu: gpu ? 'auto' : false, build: 'never', skipDownload: true, logLevel: llamaCpp.LlamaLogLevel.error })
  } catch (error) {
    const cause = error instanceof llamaCpp.NoBinaryFoundError ? 'none was found' : 'they could not be loaded'
    throw new EmbeddedUnavailableError(unavailableMessage(`${cause}${reasonOf(error)}`))
  }
}
