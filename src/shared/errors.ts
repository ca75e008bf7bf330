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
