import { ModelLoadError, registerError } from '../shared/errors'

/** A downloaded model file that is not the one its publisher published; what was kept of it is deleted. */
export class ModelIntegrityError extends ModelLoadError {
  static {
    registerError((message) => new this(message))
  }
  override name = 'ModelIntegrityError'
}

/** What the user reads when `fileName` did not match its published hash (`detail`: which hashes, for a bug report). */
export function integrityFailure(fileName: string, detail: string): ModelIntegrityError {
  return new ModelIntegrityError(`the download of ${fileName} did not match its published hash; it was deleted — try again (${detail})`)
}
