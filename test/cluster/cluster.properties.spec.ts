import fc from 'fast-check';
import { FakeCluster } from '../../lib/testing/index.js';
import {
  addLoops,
  advanceStep,
  applyFault,
  bootReplica,
  Downstream,
  endFaults,
  faultStep,
  type App,
} from './support.js';

/*
 * Property: whatever happens to the replicas (crash, pause past the lease, partition and heal,
 * join, graceful leave) and whenever, no two replicas run one loop at once unless the earlier
 * run's fenced write is refused, tokens only grow from owner to owner, and once the faults end
 * every loop runs again on one replica.
 */

const LOOPS = 12;
const step = fc.oneof(advanceStep(20_000), faultStep);

describe('spread loops, whatever the faults', () => {
  it('never overlap unfenced, and end with one runner per loop', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const cluster = new FakeCluster({ name: 'prop' });
        const downstream = new Downstream(cluster);
        const apps: App[] = [];
        const join = async () => {
          const a = await bootReplica(cluster.replica(`r${apps.length}`));
          apps.push(a);
          addLoops(a, downstream, { count: LOOPS, period: 1000, duration: 300 });
        };
        for (let i = 0; i < 3; i++) await join();
        try {
          for (const s of steps) {
            if (s.kind === 'advance') {
              await cluster.clock.advance(s.ms);
              continue;
            }
            if (s.kind === 'join') {
              if (apps.length < 6) await join();
              continue;
            }
            await applyFault(cluster, apps, s);
          }
          // The faults end: every replica still alive is up again, and one joins for sure.
          endFaults(apps);
          if (!apps.some((a) => a.replica.state === 'up')) await join();
          await cluster.clock.advance(40_000);
          const from = cluster.clock.now();
          await cluster.clock.advance(5000);
          downstream.check();
          for (let i = 0; i < LOOPS; i++) {
            const runners = new Set(
              downstream
                .of(`loop-${i}`)
                .filter((r) => r.start >= from)
                .map((r) => r.replica),
            );
            expect(runners.size).toBe(1);
          }
        } finally {
          for (const a of apps) {
            if (a.replica.state === 'up') await cluster.clock.runUntil(a.app.close());
          }
        }
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
