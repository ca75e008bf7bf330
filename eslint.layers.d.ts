import type { Linter } from 'eslint'

/** Each layer of DESIGN.md and the layers below it that it may import. */
export const layers: Record<string, string[]>
/** The flat-config entries that check the layers of the tree under `rootPath`. */
export function layerConfig(rootPath: string): Linter.Config[]
