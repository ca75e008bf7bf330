// The version a build says it is: package.json's version and a build id (EDGESWARM_BUILD_ID,
// else the git commit, else the build's time), handed to Vite's `define` (src/shared/build.ts reads them).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short=10', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null
  } catch {
    return null
  }
}

export function buildDefines(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  const buildId = env.EDGESWARM_BUILD_ID || gitCommit() || new Date().toISOString().replace(/\D/g, '').slice(0, 14)
  return { __EDGESWARM_VERSION__: JSON.stringify(version), __EDGESWARM_BUILD_ID__: JSON.stringify(buildId) }
}
