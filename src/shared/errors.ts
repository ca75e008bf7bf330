/** Base of every named error; `name` survives crossing a worker or network boundary. */
export class EdgeswarmError extends Error {
  override name = 'EdgeswarmError'
}

export class ValidationError extends EdgeswarmError {
  override name = 'ValidationError'
}

export class SignatureError extends EdgeswarmError {
  override name = 'SignatureError'
}

export class RoomUrlError extends EdgeswarmError {
  override name = 'RoomUrlError'
}

export class IdentityError extends EdgeswarmError {
  override name = 'IdentityError'
}

/** The operation was cancelled through its AbortSignal. */
export class AbortError extends EdgeswarmError {
  override name = 'AbortError'
}

/** No engine can run here (no WebGPU, too little memory, …); the message says why. */
export class EngineUnavailableError extends EdgeswarmError {
  override name = 'EngineUnavailableError'
}

/** The model could not be downloaded or loaded: bad URL, 404, corrupt file, quota. */
export class ModelLoadError extends EdgeswarmError {
  override name = 'ModelLoadError'
}

/** The engine failed while generating. */
export class InferenceError extends EdgeswarmError {
  override name = 'InferenceError'
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('aborted')
}

export interface SerializedError {
  name: string
  message: string
}

const errorClasses: Record<string, new (message: string) => Error> = {
  EdgeswarmError,
  ValidationError,
  SignatureError,
  RoomUrlError,
  IdentityError,
  AbortError,
  EngineUnavailableError,
  ModelLoadError,
  InferenceError,
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message }
  return { name: 'Error', message: String(error) }
}

/** Rebuilds an error as its own class where we know it, else a plain Error carrying the name. */
export function rebuildError(serialized: SerializedError): Error {
  const ErrorClass = errorClasses[serialized.name]
  if (ErrorClass) return new ErrorClass(serialized.message)
  const error = new Error(serialized.message)
  error.name = serialized.name
  return error
}
