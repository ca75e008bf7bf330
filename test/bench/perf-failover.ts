// Issue 16 ("fast at room scale"): failover for closed and frozen executors and false re-awards on a loaded machine, before and after (part 3).
// Run alone with `BENCH_SECTIONS=perf-failover npm run bench`.

export async function benchPerfFailover(): Promise<void> {
  await Promise.resolve()
  console.log('\n## perf-failover: not measured yet')
}
