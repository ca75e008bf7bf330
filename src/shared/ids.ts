const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789'

/** A random id from an unambiguous alphabet: ids of memory entries, room names, keys. */
export function randomId(length = 16): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length))
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join('')
}
