// Scenario 4: cadence. One loop at `period` ms for `runs` runs: the start time of every run,
// cumulative drift against first + runs * period, and the median, p99 and largest gap.
import { prepare, report } from '../lib/impls.mjs';

export async function run(name, { runs = 1000, period = 10, sliding = true }) {
  const impl = await prepare(name);
  const starts = new Float64Array(runs + 1);
  let count = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const body = () => {
    if (count <= runs) starts[count++] = performance.now();
    if (count === runs + 1) finish();
  };
  impl.start(1, { period, sliding, body });
  await finished;
  await impl.stop();
  const gaps = [];
  for (let i = 1; i <= runs; i++) gaps.push(starts[i] - starts[i - 1]);
  gaps.sort((a, b) => a - b);
  const at = (q) => gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))];
  const drift = starts[runs] - (starts[0] + runs * period);
  report({
    drift,
    driftPerRun: drift / runs,
    medianGap: at(0.5),
    p99Gap: at(0.99),
    maxGap: gaps.at(-1),
  });
}
