// Issue 16 ("fast at room scale"): post → award at 2/4/8 workers, before and after (part 4).
// Run alone with `BENCH_SECTIONS=perf-award npm run bench`.

export async function benchPerfAward(): Promise<void> {
  await Promise.resolve()
  console.log('\n## perf-award: not measured yet')
}
