import { until, NEVER_STOP } from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

describe('smoke', () => {
  it('runs', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const runs: number[] = [];
    const done = until(() => void runs.push(clock.now()), 100, ac.signal, { clock });
    await clock.advance(350);
    ac.abort();
    await done;
    expect(runs).toEqual([0, 100, 200, 300]);
    expect(clock.pendingTimers).toBe(0);
    expect(NEVER_STOP.aborted).toBe(false);
  });
});
