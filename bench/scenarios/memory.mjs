// Scenario 2: memory per idle loop. n loops with a 1 h period (their first runs, where a library
// makes one at once, done): heap and RSS bytes per loop after two full collections, against the
// same process before the loops (a Nest app the implementation needs is created before).
import { heapAfterGc, pause, prepare, report } from '../lib/impls.mjs';

export async function run(name, { n = 100_000, period = 3_600_000 }) {
  const impl = await prepare(name);
  await pause(50);
  const before = heapAfterGc();
  impl.start(n, { period, body: () => {} });
  await pause(100);
  const after = heapAfterGc();
  report({
    heapPerLoop: (after.heapUsed - before.heapUsed) / n,
    rssPerLoop: (after.rss - before.rss) / n,
  });
  await impl.stop();
}
