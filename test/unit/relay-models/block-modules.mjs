// `node --import ./block-modules.mjs`: the packages named in EDGESWARM_BLOCK_MODULES (comma-separated
// prefixes) fail to resolve, as where npm left them out: a missing dependency, not a stand-in.
import { register } from 'node:module'

register('./block-modules-hooks.mjs', import.meta.url, { data: { prefixes: (process.env.EDGESWARM_BLOCK_MODULES ?? '').split(',').filter((prefix) => prefix !== '') } })
