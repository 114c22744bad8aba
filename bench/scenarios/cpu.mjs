// Scenario 1: CPU per run. n loops at `period` ms with an empty body (sync or async), measured
// over `seconds` after a warm-up: CPU microseconds per completed run, and runs achieved against
// the ideal n * elapsed / period (a loop that falls behind shows it here).
import { pause, prepare, report } from '../lib/impls.mjs';

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
  await pause(warmup * 1000);
  const runs0 = runs;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pause(seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  const elapsed = performance.now() - t0;
  const done = runs - runs0;
  await impl.stop();
  report({
    cpuMicrosPerRun: (cpu.user + cpu.system) / done,
    rate: done / ((n * elapsed) / period),
  });
}
