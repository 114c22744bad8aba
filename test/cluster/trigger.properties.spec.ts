import fc from 'fast-check';
import type { PollingContext } from '../../lib/index.js';
import { FakeCluster } from '../../lib/testing/index.js';
import { applyFault, bootReplica, Downstream, endFaults, type App } from './support.js';

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
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 8000 }) }),
  fc.record({ kind: fc.constant('trigger' as const), who: fc.nat(5) }),
  fc.record({
    kind: fc.constantFrom('crash', 'pause', 'partition', 'leave', 'join' as const),
    who: fc.nat(5),
  }),
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
          const clock = a.replica.clock;
          a.registry.add(
            'job',
            async ({ signal, fencingToken }: PollingContext) => {
              const run = downstream.begin('job', a.replica.identity, fencingToken);
              await new Promise<void>((resolve) => {
                const timer = clock.setTimeout(resolve, RUN);
                signal.addEventListener('abort', () => {
                  clock.clearTimeout(timer);
                  resolve();
                });
              });
              downstream.finish(run);
            },
            { period: HOUR, initialDelay: HOUR, placement: 'spread' },
          );
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
              target.registry.trigger('job').then(
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
          expect(downstream.of('job').length).toBeLessThanOrEqual(calls.length);
          for (const call of calls) {
            // A killed process settles nothing; every other call settled (a leave ends its wait).
            if (killed.has(call.on)) continue;
            // Settled: within the lease for the owner to take it, then the run and a report.
            expect(call.settled).toBeDefined();
            if (call.error !== undefined) expect(call.error.message).toMatch(/"job"/);
          }
          const resolved = calls.filter((c) => c.settled !== undefined && c.error === undefined);
          // A call that resolved had its run (calls made before that run started share it).
          if (resolved.length > 0) expect(downstream.of('job').length).toBeGreaterThan(0);
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
