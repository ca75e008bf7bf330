// The resolve hook of block-modules.mjs (it runs on node's loader thread).
let prefixes = []

export function initialize(data) {
  prefixes = data.prefixes
}

export async function resolve(specifier, context, nextResolve) {
  if (prefixes.some((prefix) => specifier === prefix || specifier.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`))) {
    const error = new Error(`Cannot find package '${specifier}' imported from ${context.parentURL ?? 'the relay'}`)
    error.code = 'ERR_MODULE_NOT_FOUND'
    throw error
  }
  return nextResolve(specifier, context)
}
