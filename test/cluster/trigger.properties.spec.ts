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
 * Property: whatever the replicas do meanwhile (crash, pause, partition, join, leave), a
 * cluster-wide trigger() runs its loop at most once, never overlapping another run unfenced,
 * and every call settles (resolves or rejects naming the loop) within a bound. The loop's own
 * period and initial delay are an hour, so that only triggers explain a run.
 */

const HOUR = 3_600_000;
const LEASE = 15_000;
const RENEW = 10_000;
const RUN = 300;

const step = fc.oneof(
  advanceStep(8000),
  fc.record({ kind: fc.constant('trigger' as const), who: fc.nat(5) }),
  faultStep,
);

describe('cluster-wide trigger(), whatever the faults', () => {
  it('runs at most once per call, never overlapping unfenced, and always settles within a bound', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
        const cluster = new FakeCluster({ name: 'tprop' });
        const downstream = new Downstream(cluster);
        const apps: App[] = [];
        const join = async () => {
          const a = await bootReplica(cluster.replica(`r${apps.length}`));
          apps.push(a);
          addLoops(a, downstream, {
            count: 1,
            prefix: 'job',
            period: HOUR,
            initialDelay: HOUR,
            duration: RUN,
          });
        };
        for (let i = 0; i < 3; i++) await join();
        await cluster.clock.advance(4000);
        const calls: Array<{ at: number; on: App; settled?: number; error?: Error }> = [];
        const killed = new Set<App>();
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
            const target = apps[s.who % apps.length];
            const state = target.replica.state;
            if (s.kind === 'trigger') {
              if (state !== 'up') continue;
              const call: (typeof calls)[number] = { at: cluster.clock.now(), on: target };
              calls.push(call);
              target.registry.trigger('job-0').then(
                () => (call.settled = cluster.clock.now()),
                (error: Error) => {
                  call.settled = cluster.clock.now();
                  call.error = error;
                },
              );
            } else {
              const crashed = await applyFault(cluster, apps, s);
              if (crashed !== undefined) killed.add(crashed);
            }
          }
          endFaults(apps);
          await cluster.clock.advance(2 * LEASE + RENEW);
          downstream.check();
          // Only triggers explain a run: at most one run per call.
          expect(downstream.of('job-0').length).toBeLessThanOrEqual(calls.length);
          for (const call of calls) {
            // A killed process settles nothing; every other call settled (a leave ends its wait).
            if (killed.has(call.on)) continue;
            // Settled: within the lease for the owner to take it, then the run and a report.
            expect(call.settled).toBeDefined();
            if (call.error !== undefined) expect(call.error.message).toMatch(/"job-0"/);
          }
          const resolved = calls.filter((c) => c.settled !== undefined && c.error === undefined);
          // A call that resolved had its run (calls made before that run started share it).
          if (resolved.length > 0) expect(downstream.of('job-0').length).toBeGreaterThan(0);
        } finally {
          for (const a of apps) {
            if (a.replica.state === 'up') await cluster.clock.runUntil(a.app.close());
          }
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
