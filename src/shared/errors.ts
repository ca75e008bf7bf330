/**
 * Named errors, and how they cross a worker, tab or network boundary: as `{ name, message }`,
 * rebuilt on the far side as the same class.
 *
 * Every named class joins the registry by construction, in a static block:
 *
 *     export class ValidationError extends EdgeswarmError {
 *       static { registerError((message) => new this(message)) }
 *       override name = 'ValidationError'
 *     }
 *
 * The registry learns the name from an instance the rebuild function makes, so the name is
 * written once, as a string (a minifier renames classes, never strings). test/unit/rpc-errors
 * finds every exported `*Error` class in src and checks that it round-trips as itself.
 */

export interface SerializedError {
  name: string
  message: string
}

type Rebuild = (message: string) => Error

const registry = new Map<string, Rebuild>()

/** Declares how to rebuild a named error class from its message; its name comes from the instance it makes. */
export function registerError(rebuild: Rebuild): void {
  registry.set(rebuild('').name, rebuild)
}

/** The names the registry can rebuild (for tests and diagnostics). */
export function registeredErrorNames(): string[] {
  return [...registry.keys()]
}

/** Base of every named error; `name` survives crossing a worker or network boundary. */
export class EdgeswarmError extends Error {
  static {
    registerError((message) => new this(message))
  }
  override name = 'EdgeswarmError'
}

export class ValidationError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'ValidationError'
}

export class SignatureError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'SignatureError'
}

export class RoomUrlError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'RoomUrlError'
}

export class IdentityError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'IdentityError'
}

/** The operation was cancelled through its AbortSignal. */
export class AbortError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'AbortError'
}

/** No engine can run here (no WebGPU, too little memory, …); the message says why. */
export class EngineUnavailableError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'EngineUnavailableError'
}

/** The model could not be downloaded or loaded: bad URL, 404, corrupt file, quota. */
export class ModelLoadError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'ModelLoadError'
}

/** The engine failed while generating. */
export class InferenceError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'InferenceError'
}

/** The request asks for what the engine cannot do (tools, a JSON schema): refused before it runs, never silently dropped. */
export class UnsupportedRequestError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'UnsupportedRequestError'
}

/** The system prompt and the latest message alone do not fit the model's context window, with room for an answer. */
export class ContextOverflowError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'ContextOverflowError'
}

/** The far side of a channel is gone (its worker died, its tab closed, the channel was disposed). */
export class ChannelClosedError extends EdgeswarmError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'ChannelClosedError'
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('aborted')
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message }
  return { name: 'Error', message: String(error) }
}

/** Rebuilds an error as its own class where one is registered, else a plain Error carrying the name. */
export function rebuildError(serialized: SerializedError): Error {
  const rebuild = registry.get(serialized.name)
  if (rebuild) {
    const error = rebuild(serialized.message)
    // A class whose constructor words its own message (RelayConfigError) still says what the far side said.
    if (error.message !== serialized.message) error.message = serialized.message
    return error
  }
  const error = new Error(serialized.message)
  error.name = serialized.name
  return error
}
