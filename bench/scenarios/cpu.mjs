// Scenario 1: CPU per run. n loops at `period` ms with an empty body (sync or async), measured
// over `seconds` after a warm-up: CPU microseconds per completed run, and runs achieved against
// the ideal n * elapsed / period (a loop that falls behind shows it here).
import { measureWindow, prepare, report } from '../lib/impls.mjs';

export async function run(
  name,
  { n = 10_000, period = 10, seconds = 3, warmup = 1, body = 'sync' },
) {
  const impl = await prepare(name);
  let runs = 0;
  const async = body === 'async';
  const fn = async
    ? async () => {
        runs++;
      }
    : () => {
        runs++;
      };
  impl.start(n, { period, body: fn, async });
  const { done, cpuMicros, elapsed } = await measureWindow(() => runs, { warmup, seconds });
  await impl.stop();
  report({
    cpuMicrosPerRun: cpuMicros / done,
    rate: done / ((n * elapsed) / period),
  });
}
