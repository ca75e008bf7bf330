// Issue 16 ("fast at room scale"): memory write → visible, before and after, with the time breakdown (part 1).
// Run alone with `BENCH_SECTIONS=perf-memory npm run bench`.

export async function benchPerfMemory(): Promise<void> {
  await Promise.resolve()
  console.log('\n## perf-memory: not measured yet')
}
