// Issue 16 ("fast at room scale"): µs per market delivery at 10/100/1,000 nodes, before and after (part 2).
// Run alone with `BENCH_SECTIONS=perf-delivery npm run bench`.

export async function benchPerfDelivery(): Promise<void> {
  await Promise.resolve()
  console.log('\n## perf-delivery: not measured yet')
}
