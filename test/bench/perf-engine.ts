// Issue 16 ("fast at room scale"): WASM ÷ native prefill and decode at 1 and 2 threads, before and after (part 5).
// Run alone with `BENCH_SECTIONS=perf-engine npm run bench`.

export async function benchPerfEngine(): Promise<void> {
  await Promise.resolve()
  console.log('\n## perf-engine: not measured yet')
}
