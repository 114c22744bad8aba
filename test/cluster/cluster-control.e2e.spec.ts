import { FakeCluster } from '../../lib/testing/index.js';
import { addLoops, bootReplica, Downstream, type App } from './support.js';

/*
 * stop(), start() and update() of spread and leader loops act on the whole cluster: kept in the
 * store, followed by every replica and every later owner. On a FakeCluster with the default
 * timings (lease 15s, renew deadline 10s, retry 2s).
 */

const LEASE = 15_000;
const RENEW = 10_000;
const RETRY = 2000;

let cluster: FakeCluster;
let downstream: Downstream;
let apps: App[];

beforeEach(() => {
  cluster = new FakeCluster({ name: 'ctl' });
  downstream = new Downstream(cluster);
  apps = [];
});
afterEach(async () => {
  for (const a of apps) if (a.replica.state === 'up') await cluster.clock.runUntil(a.app.close());
});

async function replica(identity: string, placement: 'spread' | 'leader' = 'spread') {
  const a = await bootReplica(cluster.replica(identity), {}, placement);
  apps.push(a);
  addLoops(a, downstream, { count: 1, prefix: 'job', placement, period: 1000, duration: 100 });
  return a;
}

const ownerOf = (name: string) =>
  apps.find((a) => a.replica.state === 'up' && a.registry.get(name).owner === a.replica.identity);
const runsSince = (t: number) => downstream.of('job-0').filter((r) => r.start >= t);

describe.each(['spread', 'leader'] as const)('%s loops, cluster-wide', (placement) => {
  it('stop() on a replica that does not own the loop pauses it on its owner; start() on another resumes it', async () => {
    for (let i = 0; i < 3; i++) await replica(`r${i}`, placement);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    const other = apps.find((a) => a !== owner)!;
    const third = apps.find((a) => a !== owner && a !== other)!;
    await cluster.clock.runUntil(other.registry.stop('job-0'));
    await cluster.clock.advance(10);
    const pausedAt = cluster.clock.now();
    await cluster.clock.advance(5000);
    expect(runsSince(pausedAt)).toEqual([]);
    for (const a of apps) {
      expect(a.registry.get('job-0')).toMatchObject({
        state: 'paused',
        pausedBy: other.replica.identity,
      });
    }
    expect(owner.registry.get('job-0').pausedAt!.getTime()).toBeLessThanOrEqual(pausedAt);
    await cluster.clock.runUntil(third.registry.start('job-0'));
    const resumedAt = cluster.clock.now();
    await cluster.clock.advance(3000);
    const after = runsSince(resumedAt);
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after.map((r) => r.replica))).toEqual(new Set([owner.replica.identity]));
    for (const a of apps) expect(a.registry.get('job-0').state).not.toBe('paused');
    downstream.check();
  });

  it("a pause survives its owner's crash: the next owner keeps the loop paused", async () => {
    for (let i = 0; i < 3; i++) await replica(`r${i}`, placement);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    await cluster.clock.runUntil(owner.registry.stop('job-0'));
    owner.replica.crash();
    const crashedAt = cluster.clock.now();
    await cluster.clock.advance(LEASE + 4 * RETRY);
    expect(runsSince(crashedAt)).toEqual([]);
    const live = apps.filter((a) => a.replica.state === 'up');
    expect(live.some((a) => a.registry.get('job-0').owner !== owner.replica.identity)).toBe(true);
    for (const a of live) expect(a.registry.get('job-0').state).toBe('paused');
  });

  it('a pause survives the restart of every replica', async () => {
    for (let i = 0; i < 2; i++) await replica(`r${i}`, placement);
    await cluster.clock.advance(3 * RETRY);
    await cluster.clock.runUntil(apps[1].registry.stop('job-0'));
    for (const a of [...apps]) await cluster.clock.runUntil(a.app.close());
    const restartedAt = cluster.clock.now();
    for (let i = 0; i < 2; i++) await replica(`r${i}-v2`, placement);
    await cluster.clock.advance(4 * RETRY);
    expect(runsSince(restartedAt)).toEqual([]);
    for (const a of apps.slice(2)) expect(a.registry.get('job-0').state).toBe('paused');
    await cluster.clock.runUntil(apps[2].registry.start('job-0'));
    await cluster.clock.advance(3000);
    expect(runsSince(restartedAt).length).toBeGreaterThan(0);
  });

  it('update() on any replica re-times the loop on its owner and on the next one', async () => {
    for (let i = 0; i < 3; i++) await replica(`r${i}`, placement);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    const other = apps.find((a) => a !== owner)!;
    await cluster.clock.runUntil(other.registry.update('job-0', { period: '10s' }));
    await cluster.clock.advance(20);
    for (const a of apps) expect(a.registry.get('job-0').period).toBe(10_000);
    const from = cluster.clock.now() + 1200;
    await cluster.clock.advance(31_000);
    const runs = runsSince(from);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i].start - runs[i - 1].end!).toBeGreaterThanOrEqual(10_000);
    }
    await cluster.clock.runUntil(owner.app.close());
    await cluster.clock.advance(3 * RETRY);
    const next = ownerOf('job-0')!;
    expect(next.registry.get('job-0').period).toBe(10_000);
  });
});

describe('cluster-wide calls racing with a move', () => {
  it('stop() while the loops move to a replica that joins: none of them runs after the pause, on any replica', async () => {
    const names: string[] = [];
    for (let i = 0; i < 2; i++) {
      const a = await bootReplica(cluster.replica(`r${i}`), {}, 'spread');
      apps.push(a);
      names.splice(0, names.length, ...addLoops(a, downstream, { count: 20, prefix: 'm' }));
    }
    await cluster.clock.advance(3 * RETRY);
    const joiner = await bootReplica(cluster.replica('r2'), {}, 'spread');
    apps.push(joiner);
    addLoops(joiner, downstream, { count: 20, prefix: 'm' });
    // Right after the joiner's first heartbeat, as the others begin to hand loops over to it.
    await cluster.clock.advance(1);
    await cluster.clock.runUntil(Promise.all(names.map((n) => apps[0].registry.stop(n))));
    const pausedAt = cluster.clock.now();
    await cluster.clock.advance(5 * RETRY);
    expect(downstream.runs.filter((r) => r.start > pausedAt)).toEqual([]);
    for (const a of apps) for (const n of names) expect(a.registry.get(n).state).toBe('paused');
    // Resumed, each runs on exactly one replica, the joiner taking its share.
    await cluster.clock.runUntil(Promise.all(names.map((n) => joiner.registry.start(n))));
    const resumedAt = cluster.clock.now();
    await cluster.clock.advance(3000);
    for (const n of names) {
      const runners = new Set(
        downstream
          .of(n)
          .filter((r) => r.start > resumedAt)
          .map((r) => r.replica),
      );
      expect(runners.size).toBe(1);
    }
    const byJoiner = names.filter((n) => joiner.registry.get(n).owner === 'r2');
    expect(byJoiner.length).toBeGreaterThan(0);
    downstream.check();
  });

  it('update() while the owner crashes: the next owner runs with the new period', async () => {
    for (let i = 0; i < 3; i++) await replica(`r${i}`);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    const other = apps.find((a) => a !== owner)!;
    owner.replica.crash();
    await cluster.clock.advance(RETRY);
    await cluster.clock.runUntil(other.registry.update('job-0', { period: '20s' }));
    await cluster.clock.advance(LEASE + 3 * RETRY);
    const next = ownerOf('job-0')!;
    expect(next).not.toBe(owner);
    expect(next.registry.get('job-0').period).toBe(20_000);
    const from = cluster.clock.now();
    await cluster.clock.advance(45_000);
    const runs = runsSince(from);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i].start - runs[i - 1].end!).toBeGreaterThanOrEqual(20_000);
    }
    downstream.check();
  });
});

describe('cluster-wide calls racing with a crash', () => {
  it('start() of a paused loop while its owner crashes: the next owner runs it', async () => {
    for (let i = 0; i < 3; i++) await replica(`r${i}`);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    const other = apps.find((a) => a !== owner)!;
    await cluster.clock.runUntil(other.registry.stop('job-0'));
    await cluster.clock.advance(RETRY);
    owner.replica.crash();
    await cluster.clock.runUntil(other.registry.start('job-0'));
    const startedAt = cluster.clock.now();
    await cluster.clock.advance(LEASE + 3 * RETRY);
    const next = ownerOf('job-0')!;
    expect(next).not.toBe(owner);
    const runs = runsSince(startedAt);
    expect(runs.length).toBeGreaterThan(0);
    expect(new Set(runs.map((r) => r.replica))).toEqual(new Set([next.replica.identity]));
    downstream.check();
  });
});

describe('cluster-wide calls that cannot be kept', () => {
  it('a store that does not answer: stop() rejects within the renew deadline naming the loop, and nothing changes', async () => {
    const a = await replica('r0');
    await replica('r1');
    await cluster.clock.advance(3 * RETRY);
    a.replica.partition();
    const asked = cluster.clock.now();
    const stopping = a.registry.stop('job-0');
    const outcome = stopping.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await cluster.clock.advance(RENEW + 10);
    expect(await outcome).toMatch(
      /PollingRegistry\.stop\(\): could not change loop "job-0" cluster-wide .*nothing was changed/,
    );
    expect(cluster.clock.now() - asked).toBeLessThanOrEqual(RENEW + 10);
    a.replica.heal();
    await cluster.clock.advance(3 * RETRY);
    for (const x of apps) expect(x.registry.get('job-0').state).not.toBe('paused');
  });

  it('stop(), start() and update() during shutdown fail naming the call', async () => {
    const a = await replica('r0');
    await cluster.clock.advance(3 * RETRY);
    const closing = a.registry.shutdown();
    await expect(a.registry.stop('job-0')).rejects.toThrow(/PollingRegistry\.stop\(\)/);
    expect(() => a.registry.start('job-0')).toThrow(/PollingRegistry\.start\(\)/);
    expect(() => a.registry.update('job-0', { period: 5 })).toThrow(/PollingRegistry\.update\(\)/);
    await expect(a.registry.trigger('job-0')).rejects.toThrow(/PollingRegistry\.trigger\(\)/);
    await cluster.clock.runUntil(closing);
  });

  it('unknown loops and bad changes fail at the call, before the store is asked', async () => {
    const a = await replica('r0');
    await cluster.clock.advance(3 * RETRY);
    await expect(a.registry.stop('nope')).rejects.toThrow(/no loop is named "nope"/);
    await expect(a.registry.trigger('nope')).rejects.toThrow(/no loop is named "nope"/);
    expect(() => a.registry.start('nope')).toThrow(/no loop is named "nope"/);
    expect(() => a.registry.update('job-0', { period: -1 })).toThrow(/PollingRegistry\.update\(\)/);
    expect((await cluster.store.controls('ctl')).loops).toEqual([]);
  });
});

describe('registry.members()', () => {
  it('lists the live replicas with their loops and the leader, from any replica', async () => {
    const a = await bootReplica(cluster.replica('r0'), {}, 'spread');
    const b = await bootReplica(cluster.replica('r1'), {}, 'spread');
    apps.push(a, b);
    for (const x of apps) {
      addLoops(x, downstream, { count: 10, prefix: 'spread', placement: 'spread' });
      addLoops(x, downstream, { count: 2, prefix: 'lead', placement: 'leader' });
    }
    await cluster.clock.advance(3 * RETRY);
    const seen = b.registry.members().sort((x, y) => x.identity.localeCompare(y.identity));
    expect(seen.map((m) => m.identity)).toEqual(['r0', 'r1']);
    expect(seen.reduce((n, m) => n + m.loops, 0)).toBe(12);
    expect(seen.filter((m) => m.leader)).toHaveLength(1);
    expect(seen.find((m) => m.self)!.identity).toBe('r1');
    for (const m of seen) {
      expect(m.since.getTime()).toBeLessThanOrEqual(cluster.clock.now());
      expect(cluster.clock.now() - m.renewedAt.getTime()).toBeLessThanOrEqual(RETRY + 10);
    }
    a.replica.crash();
    await cluster.clock.advance(LEASE + 2 * RETRY);
    expect(b.registry.members().map((m) => m.identity)).toEqual(['r1']);
  });
});
