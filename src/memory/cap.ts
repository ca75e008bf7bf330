/**
 * The keys of a shared map a reader considers when the map holds more than `max`: the first
 * `max` in key order (UTF-16 code units), so every reader of the same doc keeps the same ones
 * whatever order its updates came in. Null while the map is within the cap (every key counts).
 */
export function admittedKeys(keys: Iterable<string>, size: number, max: number): Set<string> | null {
  if (size <= max) return null
  return new Set([...keys].sort().slice(0, max))
}
