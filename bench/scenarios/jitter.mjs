// Scenario 3: jitter at scale. n sliding loops at `period` ms, each wait drawn from
// [period, period * (1 + jitter)): CPU microseconds per run, and runs per second, after a warm-up
// (the loops start together; the jitter spreads them).
import { measureWindow, prepare, report } from '../lib/impls.mjs';

export async function run(
  name,
  { n = 100_000, period = 1000, jitter = 0.5, seconds = 4, warmup = 2 },
) {
  const impl = await prepare(name);
  let runs = 0;
  impl.start(n, { period, jitter, body: () => void runs++ });
  const { done, cpuMicros, elapsed } = await measureWindow(() => runs, { warmup, seconds });
  await impl.stop();
  report({
    cpuMicrosPerRun: cpuMicros / done,
    runsPerSecond: done / (elapsed / 1000),
  });
}
