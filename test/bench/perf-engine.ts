// Issue 16 ("fast at room scale"), part 5: WASM ÷ native prefill and decode at 1 and 2 threads,
// before (the harness of the tree before the issue: its engine, wllama 3.8.1, its options) and after
// (this tree's engine on wllama 3.8.1, and on 3.13 beside it), side by side in one run.
// Run alone with `BENCH_SECTIONS=perf-engine npm run bench`.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from '@playwright/test'
import { chromiumLaunchOptions } from '../e2e/support/browser'
import type { WllamaName } from '../harness/main'
import { perfBeforeRef, worktreeOf } from './before-tree'
import { chatInPage, loadHarnessEngine, promptSource, runContent, unloadHarnessEngine, type BrowserSpeed } from './engine'
import { openNativeBench, type SpeedSample } from './engine-native'
import { openHarness } from './harness-page'
import { ensureQ8_0Copy } from './quantized-gguf'
import { startRelay, type RelayProcess } from './relay-process'
import { fmt, median, table } from './stats'

const fixturesDirectory = fileURLToPath(new URL('../fixtures/', import.meta.url))
const f32Model = 'bench-qwen3.gguf'
const q8Model = 'bench-qwen3-q8_0.gguf'
/** `PERF_ENGINE_MODEL=q8_0` runs the Q8_0 copy of the bench model (the catalog's Qwen3-0.6B-Q8_0 kind); default the F32 one. */
const modelFile = process.env.PERF_ENGINE_MODEL === 'q8_0' ? q8Model : f32Model
const contextSize = 1024
const promptTokens = 128
const generateTokens = 32
const rounds = Number(process.env.PERF_ENGINE_ROUNDS ?? 3)
/** Past this many seconds, each engine left gets one pair only: a loaded machine must not stretch the section without bound. */
const budgetS = Number(process.env.PERF_ENGINE_BUDGET_S ?? 150)
const threadCounts = cpus().length >= 2 ? [1, 2] : [1]

/** The before tree's engine harness (test/harness, built into its dist-harness/); built once. */
function builtHarnessOf(ref: string): string {
  const dir = worktreeOf(ref)
  if (!existsSync(path.join(dir, 'dist-harness', 'index.html'))) {
    execFileSync(process.execPath, [path.resolve('node_modules/vite/bin/vite.js'), 'build', '-c', 'vite.harness.config.ts', '--logLevel', 'error'], { cwd: dir, stdio: 'inherit' })
  }
  return dir
}

interface Side {
  label: string
  page: Page
  wllama: WllamaName
}

/** One wasm run and the native run right after it, on the same prompt. */
interface Pair {
  wasm: BrowserSpeed
  native: SpeedSample
}

type Rate = 'prefillTokensPerS' | 'decodeTokensPerS'

/** The median over pairs of wasm ÷ its native neighbour: load that drifts during the run falls on both sides of each ratio. */
const ratio = (pairs: readonly Pair[], key: Rate): number => median(pairs.map((pair) => pair.wasm.engine[key] / pair.native[key]))

export async function benchPerfEngine(): Promise<void> {
  const beforeDir = builtHarnessOf(perfBeforeRef)
  if (modelFile === q8Model) ensureQ8_0Copy(`${fixturesDirectory}${f32Model}`, `${fixturesDirectory}${q8Model}`)
  const loadBefore = loadavg()[0] ?? 0
  const startedMs = performance.now()
  let cut = false
  const relays: RelayProcess[] = []
  let browser: Browser | null = null
  const native = await openNativeBench(`${fixturesDirectory}${modelFile}`, contextSize)
  /** Keyed by `${threads} ${side label}`. */
  const results = new Map<string, Pair[]>()
  try {
    const afterRelay = await startRelay({ RELAY_STATIC_DIR: 'dist-harness', RELAY_MODELS_DIR: fixturesDirectory })
    relays.push(afterRelay)
    const beforeRelay = await startRelay({ RELAY_STATIC_DIR: path.join(beforeDir, 'dist-harness'), RELAY_MODELS_DIR: fixturesDirectory }, beforeDir)
    relays.push(beforeRelay)
    browser = await chromium.launch(chromiumLaunchOptions())
    const before = await openHarness(browser, beforeRelay)
    const after = await openHarness(browser, afterRelay)
    const sides: Side[] = [
      { label: `before (${perfBeforeRef}, wllama 3.8.1)`, page: before.page, wllama: 'app' },
      { label: 'after, wllama 3.8.1', page: after.page, wllama: 'app' },
      { label: 'after, wllama 3.13', page: after.page, wllama: 'next' },
    ]
    const isolated = await after.page.evaluate(() => globalThis.crossOriginIsolated)
    const base = native.fitPrompt(promptSource.split(' '), promptTokens, (content) => runContent(content, 0))
    for (const threads of threadCounts) {
      await native.measure(runContent(base, 0), threads, 8)
      // One engine loaded at a time (an idle engine's threads must not take the cores of the one
      // measured); each is warmed up, then its runs alternate with native ones.
      for (const side of sides) {
        await loadHarnessEngine(side.page, `/models/${modelFile}`, { threads, contextSize, wllama: side.wllama })
        try {
          await chatInPage(side.page, runContent(base, 0), 8)
          const pairs: Pair[] = []
          for (let round = 1; round <= rounds; round++) {
            if (round > 1 && performance.now() - startedMs > budgetS * 1000) {
              cut = true
              break
            }
            const wasm = await chatInPage(side.page, runContent(base, round), generateTokens)
            pairs.push({ wasm, native: await native.measure(runContent(base, round), threads, generateTokens) })
          }
          results.set(`${threads} ${side.label}`, pairs)
          // As it goes: a run cut short (a loaded machine, a time limit) still leaves these figures.
          const rates = (key: Rate): string => pairs.map((pair) => `${fmt(pair.wasm.engine[key])}/${fmt(pair.native[key])}`).join(' ')
          console.log(
            `perf-engine ${threads} thread(s), ${side.label}: prefill wasm/native ${rates('prefillTokensPerS')}; decode ${rates('decodeTokensPerS')}; engine threads ${pairs[0]?.wasm.threads ?? 'n/a'}`,
          )
        } finally {
          await unloadHarnessEngine(side.page)
        }
      }
    }
    await before.context.close()
    await after.context.close()
    const rows: string[][] = []
    for (const threads of threadCounts) {
      const pairsOf = (side: Side): Pair[] => results.get(`${threads} ${side.label}`) ?? []
      const nativeRuns = sides.flatMap((side) => pairsOf(side).map((pair) => pair.native))
      for (const [phase, key] of [
        ['prefill', 'prefillTokensPerS'],
        ['decode', 'decodeTokensPerS'],
      ] as const) {
        rows.push([
          String(threads),
          phase,
          fmt(median(nativeRuns.map((sample) => sample[key]))),
          ...sides.flatMap((side) => [fmt(median(pairsOf(side).map((pair) => pair.wasm.engine[key]))), fmt(ratio(pairsOf(side), key), 2)]),
          sides.map((side) => pairsOf(side)[0]?.wasm.threads ?? 'n/a').join(' / '),
        ])
      }
    }
    table(
      `perf-engine: WASM engine ÷ native llama.cpp, ${modelFile}, greedy, ${promptTokens}-token prompt, ${generateTokens} generated, median of ${rounds} pairs${cut ? ` (fewer where the ${budgetS} s budget ran out)` : ''}`,
      ['threads', 'phase', 'native tok/s', ...sides.flatMap((side) => [`${side.label} tok/s`, '÷ native']), 'threads the engine reports (before / 3.8.1 / 3.13)'],
      rows,
    )
    console.log(
      `Measured: llama.cpp's own timings of each WASM engine (engine.info(), Chromium, page cross-origin isolated: ${isolated}) and node-llama-cpp's CPU build on the same file, prompt, context ${contextSize} and thread count; ÷ native is the median of each wasm run ÷ the native run right after it (native tok/s: the median of all those native runs). "before" is the engine harness of ${perfBeforeRef} built and served from its own tree. Load average before/after: ${loadBefore.toFixed(2)} / ${(loadavg()[0] ?? 0).toFixed(2)} on ${cpus().length} cores (figures above 1 thread are the most sensitive to it).`,
    )
  } finally {
    await browser?.close()
    await Promise.all(relays.map((relay) => relay.stop()))
    await native.dispose()
  }
}
