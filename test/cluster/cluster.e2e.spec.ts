import { jest } from '@jest/globals';
import { FakeCluster } from '../../lib/testing/index.js';
import { addLoops, bootReplica, Downstream, owned, type App } from './support.js';

/*
 * Spread loops in Nest apps: several replicas in one process on a FakeCluster (one FakeClock,
 * one in-memory store, a link per replica), with the default timings (lease 15s, renew
 * deadline 10s, retry 2s).
 */

const LEASE = 15_000;
const RENEW = 10_000;
const RETRY = 2000;

let cluster: FakeCluster;
let downstream: Downstream;
let apps: App[];

beforeEach(() => {
  cluster = new FakeCluster({ name: 'test' });
  downstream = new Downstream(cluster);
  apps = [];
});
afterEach(async () => {
  for (const a of apps) if (a.replica.state === 'up') await cluster.clock.runUntil(a.app.close());
});

async function replicas(
  n: number,
  loops: number,
  options: Parameters<typeof addLoops>[2] = { count: 0 },
) {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = await bootReplica(cluster.replica(`r${apps.length}`));
    apps.push(a);
    names.splice(0, names.length, ...addLoops(a, downstream, { ...options, count: loops }));
  }
  return names;
}

/** Which replicas ran `loop` in the clock window [from, to). */
function runnersOf(loop: string, from: number, to = Infinity): Set<string> {
  return new Set(
    downstream
      .of(loop)
      .filter((r) => r.start >= from && r.start < to)
      .map((r) => r.replica),
  );
}

describe('spread loops', () => {
  it('three replicas share 60 loops: one owner each, each runs, the busiest within 1.15x the mean', async () => {
    const names = await replicas(3, 60);
    await cluster.clock.advance(3 * RETRY);
    const counts = owned(apps, names);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(60);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(1.15 * 20);
    const from = cluster.clock.now();
    await cluster.clock.advance(5000);
    for (const name of names) expect(runnersOf(name, from).size).toBe(1);
    downstream.check();
    for (const a of apps) {
      for (const name of names) {
        expect(a.registry.get(name)).toMatchObject({ placement: 'spread' });
      }
    }
  });

  it("each owner gets its own fencing token, greater than every earlier owner's", async () => {
    const names = await replicas(2, 10);
    await cluster.clock.advance(3 * RETRY);
    await cluster.clock.runUntil(apps[0].app.close());
    await cluster.clock.advance(3 * RETRY);
    for (const name of names) {
      const tokens = downstream.of(name).map((r) => r.token!);
      expect(tokens.every((t) => Number.isInteger(t) && t > 0)).toBe(true);
      expect([...tokens].sort((a, b) => a - b)).toEqual(tokens);
    }
    downstream.check();
  });

  it("a crashed replica's loops run elsewhere within leaseDuration + 2.2 x retryPeriod", async () => {
    const names = await replicas(3, 30);
    await cluster.clock.advance(3 * RETRY);
    const victim = apps[1];
    const theirs = names.filter((n) => victim.registry.get(n).owner === victim.replica.identity);
    expect(theirs.length).toBeGreaterThan(0);
    victim.replica.crash();
    const crashedAt = cluster.clock.now();
    await cluster.clock.advance(LEASE + 2.2 * RETRY);
    for (const name of theirs) {
      const after = downstream.of(name).filter((r) => r.start > crashedAt);
      expect(after.length).toBeGreaterThan(0);
      expect(after[0].replica).not.toBe(victim.replica.identity);
      expect(after[0].start - crashedAt).toBeLessThanOrEqual(LEASE + 2.2 * RETRY);
    }
    downstream.check();
  });

  it('a graceful leave hands its loops over at once, with their cadence', async () => {
    const names = await replicas(3, 30, { count: 0, period: 60_000, duration: 100 });
    await cluster.clock.advance(3 * RETRY);
    const leaving = apps[0];
    const theirs = names.filter((n) => leaving.registry.get(n).owner === leaving.replica.identity);
    const closeAt = cluster.clock.now();
    await cluster.clock.runUntil(leaving.app.close());
    await cluster.clock.advance(10);
    for (const name of theirs) {
      const status = apps
        .slice(1)
        .map((a) => a.registry.get(name))
        .find(
          (s) =>
            s.state === 'running' && s.owner !== undefined && s.owner !== leaving.replica.identity,
        );
      expect(status).toBeDefined();
    }
    // The cadence goes on: no run before its period since the last one has passed.
    await cluster.clock.advance(70_000);
    for (const name of theirs) {
      const runs = downstream.of(name);
      expect(runs.length).toBe(2);
      expect(runs[1].start - runs[0].end!).toBeGreaterThanOrEqual(60_000);
      expect(runs[1].start - runs[0].end!).toBeLessThan(60_000 + 1000);
      expect(runs[1].start).toBeGreaterThan(closeAt);
    }
    downstream.check();
  });

  it('a replica that joins takes its share; moved loops run there within a second of their turn', async () => {
    const names = await replicas(3, 60, { count: 0, period: 1000, duration: 300 });
    await cluster.clock.advance(3 * RETRY);
    const joinedAt = cluster.clock.now();
    const late = await bootReplica(cluster.replica('late'));
    apps.push(late);
    addLoops(late, downstream, { count: 60, period: 1000, duration: 300 });
    await cluster.clock.advance(2 * RETRY);
    const counts = owned(apps, names);
    expect(counts.get('late')).toBeGreaterThanOrEqual(12);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(1.15 * 15);
    for (const name of names.filter((n) => late.registry.get(n).owner === 'late')) {
      const first = downstream.of(name).find((r) => r.replica === 'late')!;
      expect(first.start - joinedAt).toBeLessThan(2 * RETRY);
    }
    downstream.check();
  });

  it('loops handed over mid-run are released together as their runs settle, not in a call each', async () => {
    const names = await replicas(2, 60, { count: 0, period: 1000, duration: 800 });
    await cluster.clock.advance(3 * RETRY);
    const releases = apps.map((a) => jest.spyOn(a.replica.store, 'releaseLoops'));
    // Its runs in flight (800 ms in every 1800): the hand-over waits for them to settle.
    const busy = () => names.filter((n) => apps.some((a) => a.registry.get(n).inFlight)).length;
    for (let i = 0; i < 40 && busy() < 30; i++) await cluster.clock.advance(50);
    expect(busy()).toBeGreaterThanOrEqual(30);
    const late = await bootReplica(cluster.replica('late'));
    apps.push(late);
    addLoops(late, downstream, { count: 60, period: 1000, duration: 800 });
    await cluster.clock.advance(4 * RETRY);
    const calls = releases.flatMap((spy) => spy.mock.calls);
    const handed = calls.reduce((n, call) => n + call[2].length, 0);
    expect(handed).toBeGreaterThanOrEqual(15);
    // Before: one call per loop whose run was in flight.
    expect(calls.length).toBeLessThanOrEqual(6);
    expect(owned(apps, names).get('late')).toBeGreaterThanOrEqual(15);
    downstream.check();
  });

  it('a replica paused longer than the lease loses its loops; its run in flight is fenced off', async () => {
    const names = await replicas(3, 30, { count: 0, period: 1000, duration: 500 });
    await cluster.clock.advance(3 * RETRY);
    const victim = apps[2];
    const theirs = names.filter((n) => victim.registry.get(n).owner === victim.replica.identity);
    // Paused while a run of its own is in flight, on purpose.
    while (
      !downstream.runs.some((r) => r.replica === victim.replica.identity && r.end === undefined)
    ) {
      await cluster.clock.advance(50);
    }
    victim.replica.pause();
    const pausedAt = cluster.clock.now();
    await cluster.clock.advance(LEASE + 3 * RETRY);
    for (const name of theirs) {
      expect(runnersOf(name, pausedAt + 1).has(victim.replica.identity)).toBe(false);
      expect(runnersOf(name, pausedAt + 1).size).toBe(1);
    }
    victim.replica.resume();
    await cluster.clock.advance(4 * RETRY);
    // It came back with a new session and takes a share again; no run of it overlapped unfenced.
    downstream.check();
    const refused = downstream.runs.filter(
      (r) => r.replica === victim.replica.identity && r.written === false,
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(victim.logger.lines.some((l) => /Lost the member lease/.test(l.message))).toBe(true);
  });

  it('a replica whose member lease ran out rejoins with its loop names: every view places them, it takes its share', async () => {
    const names = await replicas(3, 60);
    await cluster.clock.advance(3 * RETRY);
    const victim = apps[1];
    victim.replica.pause();
    await cluster.clock.advance(LEASE + 3 * RETRY);
    victim.replica.resume();
    await cluster.clock.advance(4 * RETRY);
    const counts = owned(apps, names);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(60);
    // Before: the rejoin carried no names, and the others took it for a member without loops.
    expect(counts.get(victim.replica.identity)).toBeGreaterThanOrEqual(0.8 * 20);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(1.15 * 20);
    downstream.check();
  });

  it('a partitioned replica stops its loops within the renew deadline; healed, it rejoins', async () => {
    const names = await replicas(3, 30);
    await cluster.clock.advance(3 * RETRY);
    const victim = apps[0];
    victim.replica.partition();
    const cutAt = cluster.clock.now();
    await cluster.clock.advance(10_000 + 1000);
    const lastOwn = Math.max(
      ...downstream.runs.filter((r) => r.replica === victim.replica.identity).map((r) => r.start),
    );
    expect(lastOwn).toBeLessThan(cutAt + 10_000);
    await cluster.clock.advance(LEASE);
    for (const name of names) expect(runnersOf(name, cutAt + LEASE + 2.2 * RETRY).size).toBe(1);
    victim.replica.heal();
    await cluster.clock.advance(4 * RETRY);
    // Its share: the others learnt its loop names again, not the empty list of its new session.
    expect(owned(apps, names).get(victim.replica.identity)).toBeGreaterThanOrEqual(8);
    downstream.check();
  });

  it('a claim whose answer came after its timeout is learnt: a replica that joins gets its share', async () => {
    // r0's first claim lands in the store, but its answer comes after the call's timeout: r0
    // does not know it owns the loops. Then r1 joins, and the placement moves loops to it.
    const r0 = cluster.replica('r0');
    let late = true;
    const store = new Proxy(r0.store, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (key !== 'claimLoops' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const answer: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(
            target,
            args,
          );
          if (late) {
            late = false;
            const { timeout } = args[4] as { timeout: number };
            await new Promise<void>((resolve) => r0.clock.setTimeout(resolve, timeout + 1));
          }
          return answer;
        };
      },
    });
    const first = await bootReplica(r0, { cluster: { ...r0.options().cluster, store } });
    apps.push(first);
    const names = addLoops(first, downstream, { count: 30 });
    await cluster.clock.advance(RETRY / 2);
    expect(late).toBe(false);
    const second = await bootReplica(cluster.replica('r1'));
    apps.push(second);
    addLoops(second, downstream, { count: 30 });
    await cluster.clock.advance(RENEW + 4 * RETRY);
    // Nest's logger is process-wide: the app booted last captures every replica's lines.
    const lines = [...first.logger.lines, ...second.logger.lines].map((l) => l.message);
    expect(lines.some((l) => /failed to claimLoops "test"/.test(l))).toBe(true);
    const counts = owned(apps, names);
    expect((counts.get('r0') ?? 0) + (counts.get('r1') ?? 0)).toBe(30);
    expect(counts.get('r1')).toBeGreaterThanOrEqual(12);
    const from = cluster.clock.now();
    await cluster.clock.advance(3000);
    for (const name of names) expect(runnersOf(name, from).size).toBe(1);
    downstream.check();
  });

  it('a member past its renew deadline rejoins with a light heartbeat, however many runs it has to record', async () => {
    // A store whose answer takes 100 ms per run record: 30 records take 3 s, within the timeout
    // of a member whose lease is confirmed (what is left of the renew deadline), not within the
    // one retry period a member past its renew deadline waits.
    const r0 = cluster.replica('r0');
    const store = new Proxy(r0.store, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (key !== 'heartbeat' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const answer: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(
            target,
            args,
          );
          const { runs } = args[1] as { runs: readonly unknown[] };
          await new Promise<void>((resolve) => r0.clock.setTimeout(resolve, 100 * runs.length));
          return answer;
        };
      },
    });
    const first = await bootReplica(r0, { cluster: { ...r0.options().cluster, store } });
    apps.push(first);
    const names = addLoops(first, downstream, { count: 30, period: 500, duration: 10 });
    await cluster.clock.advance(3 * RETRY);
    expect(owned(apps, names).get('r0')).toBe(30);
    // Cut off past its renew deadline, within its lease: its session lives on.
    r0.partition();
    await cluster.clock.advance(RENEW + 1000);
    r0.heal();
    const healedAt = cluster.clock.now();
    await cluster.clock.advance(3 * RETRY);
    expect(owned(apps, names).get('r0')).toBe(30);
    for (const name of names) expect(runnersOf(name, healedAt).size).toBe(1);
  });

  it('a replica that rejoined is placed by a replica that started after it', async () => {
    const names = await replicas(3, 40);
    await cluster.clock.advance(3 * RETRY);
    apps[1].replica.pause();
    await cluster.clock.advance(LEASE + 2 * RETRY);
    apps[1].replica.resume();
    await cluster.clock.advance(3 * RETRY);
    const late = await bootReplica(cluster.replica('late'));
    apps.push(late);
    addLoops(late, downstream, { count: 40 });
    await cluster.clock.advance(5 * RETRY);
    const counts = owned(apps, names);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(40);
    expect(counts.get(apps[1].replica.identity)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(1.15 * 10);
    downstream.check();
  });

  it('a loop only some replicas have runs on one of those (a rolling deploy)', async () => {
    await replicas(2, 10);
    const newer = await bootReplica(cluster.replica('newer'));
    apps.push(newer);
    addLoops(newer, downstream, { count: 10 });
    addLoops(newer, downstream, { count: 3, prefix: 'only-new' });
    await cluster.clock.advance(4 * RETRY);
    for (let i = 0; i < 3; i++) {
      expect(runnersOf(`only-new-${i}`, 0)).toEqual(new Set(['newer']));
    }
    downstream.check();
  });

  it('a 1h sliding loop runs zero extra times through a rolling restart of 3 replicas', async () => {
    const hour = 3_600_000;
    await replicas(3, 1, { count: 0, period: hour, duration: 1000, prefix: 'hourly' });
    await cluster.clock.advance(3 * RETRY);
    expect(downstream.of('hourly-0')).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      await cluster.clock.advance(10 * 60_000);
      await cluster.clock.runUntil(apps[i].app.close());
      const next = await bootReplica(cluster.replica(`r${i}-v2`));
      apps.push(next);
      addLoops(next, downstream, { count: 1, period: hour, duration: 1000, prefix: 'hourly' });
      await cluster.clock.advance(3 * RETRY);
    }
    const runs = downstream.of('hourly-0');
    expect(runs).toHaveLength(1);
    await cluster.clock.advance(hour);
    expect(downstream.of('hourly-0')).toHaveLength(2);
    const [a, b] = downstream.of('hourly-0');
    expect(b.start - a.end!).toBeGreaterThanOrEqual(hour);
    expect(b.start - a.end!).toBeLessThan(hour + 5000);
    downstream.check();
  });

  it("non-sliding: the next owner counts the period from the last run's start", async () => {
    await replicas(2, 1, {
      count: 0,
      period: 60_000,
      duration: 20_000,
      prefix: 'fixed',
      sliding: false,
    });
    await cluster.clock.advance(25_000);
    const [first] = downstream.of('fixed-0');
    const owner = apps.find((a) => a.registry.get('fixed-0').owner === a.replica.identity)!;
    await cluster.clock.runUntil(owner.app.close());
    await cluster.clock.advance(60_000);
    const [, second] = downstream.of('fixed-0');
    expect(second.start - first.start).toBeGreaterThanOrEqual(60_000);
    expect(second.start - first.start).toBeLessThan(60_000 + 1000);
  });
});
