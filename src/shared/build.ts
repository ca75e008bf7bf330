// This build's version, injected by Vite's `define` (scripts/build-id.ts); 'dev' where no
// bundler ran (unit tests, the relay under tsx).
declare const __EDGESWARM_VERSION__: string | undefined
declare const __EDGESWARM_BUILD_ID__: string | undefined

export interface AppBuild {
  /** package.json's version. */
  version: string
  /** Which build of that version: EDGESWARM_BUILD_ID, the git commit, or the build's time. */
  id: string
}

export const appBuild: AppBuild = {
  version: typeof __EDGESWARM_VERSION__ === 'string' ? __EDGESWARM_VERSION__ : 'dev',
  id: typeof __EDGESWARM_BUILD_ID__ === 'string' ? __EDGESWARM_BUILD_ID__ : 'dev',
}

/** How the build is shown to people and to other tabs: `0.1.0+3f2c1a9b0d`. */
export function buildLabel(build: AppBuild = appBuild): string {
  return `${build.version}+${build.id}`
}
