import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import type { Heartbeat, LoopRun } from '../../lib/cluster/cluster-store.js';
import { RedisLeaseStore } from '../../lib/redis/index.js';
import { REDIS_URL, describeWith, unique } from '../leader/servers.js';
import { clusterStoreContract } from './cluster-store.contract.js';

/*
 * The cluster contract against the real Redis, then what only a server shows: late calls, data
 * loss, size. Every key is under a prefix of this run's own, deleted at the end.
 */

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const prefix = unique('nestjs-wait-test:');
const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
const stores: RedisLeaseStore[] = [];
const open = (): RedisLeaseStore => {
  const store = new RedisLeaseStore({ url: REDIS_URL, keyPrefix: prefix });
  stores.push(store);
  return store;
};
let clusters = 0;
const cluster = (): string => `cluster-${++clusters}`;
/** The keys of `name`'s cluster, as the store lays them out. */
const keysOf = (name: string) => admin.keys(`${prefix}{cluster:${name}}:*`);

const join = (identity: string, extra: Partial<Heartbeat> = {}): Heartbeat => ({
  identity,
  session: undefined,
  ttl: 5000,
  digest: 'd1',
  loops: ['x'],
  runs: [],
  ...extra,
});

const describeRedis = await describeWith('redis');

describeRedis('RedisLeaseStore: the cluster contract', () => {
  const store = open();
  const other = open();
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  });

  clusterStoreContract(
    () => Promise.resolve({ store, other, pass: sleep, cluster }),
    () => sleep(100),
  );

  describe('on the server', () => {
    it('a call that reaches the server after its timeout does nothing', async () => {
      const c = cluster();
      const a = await store.heartbeat(c, join('a'));
      const [x] = await store.claimLoops(c, 'a', a.session, ['x']);
      const token = (x as { token: number }).token;
      // The scripts queue behind the pause, which ends by itself, and run after their deadline.
      await admin.call('CLIENT', 'PAUSE', '300', 'WRITE');
      const late = { timeout: 100 };
      const calls: Promise<unknown>[] = [
        other.heartbeat(c, join('b'), late),
        store.claimLoops(c, 'a', a.session, ['y'], late),
        store.releaseLoops(c, 'a', [{ loop: 'x', token }], [], late),
        store.heartbeat(c, join('a', { session: a.session, digest: 'd2' }), late),
        store.leave(c, 'a', a.session, [], late),
        store.memberLoops(c, 'a', 'd1', late),
      ];
      const outcomes = await Promise.allSettled(calls);
      expect(
        outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).name : o.value)),
      ).toEqual(calls.map(() => 'LeaseCallLateError'));
      const seen = await store.heartbeat(c, join('a', { session: a.session, loops: undefined }));
      expect(seen.session).toBe(a.session);
      expect(seen.storedDigest).toBe('d1');
      expect(seen.members.map((m) => m.identity)).toEqual(['a']);
      const b = await other.heartbeat(c, join('b'));
      const [heldX, freeY] = await other.claimLoops(c, 'b', b.session, ['x', 'y']);
      expect(heldX).toEqual({ loop: 'x', claimed: false, owner: 'a' });
      expect(freeY).toMatchObject({ loop: 'y', claimed: true });
    });

    it('sessions and tokens keep growing after the cluster keys were deleted behind its back', async () => {
      const c = cluster();
      const a = await store.heartbeat(c, join('a'));
      const b = await other.heartbeat(c, join('b'));
      const [x] = await store.claimLoops(c, 'a', a.session, ['x']);
      const keys = await keysOf(c);
      expect(keys.length).toBeGreaterThan(0);
      await admin.del(...keys);
      const again = await store.heartbeat(c, join('a', { session: a.session }));
      expect(again.session).toBeGreaterThan(b.session);
      const [y] = await store.claimLoops(c, 'a', again.session, ['x']);
      if (!x.claimed || !y.claimed) throw new Error('not claimed');
      expect(y.token).toBeGreaterThan(x.token);
      expect(y.lastRun).toBeUndefined();
    });

    it('a control change that reaches the server after its timeout writes nothing', async () => {
      const c = cluster();
      const v1 = await store.controlLoop(c, 'x', { state: 'paused', by: 'a' });
      let told = 0;
      const watch = await other.watchCluster(c, () => told++);
      try {
        await sleep(100);
        told = 0;
        await admin.call('CLIENT', 'PAUSE', '300', 'WRITE');
        const late = { timeout: 100 };
        const outcomes = await Promise.allSettled([
          store.controlLoop(
            c,
            'x',
            { state: 'started', by: 'b', overrides: JSON.stringify({ period: 1 }) },
            late,
          ),
          other.controlLoop(c, 'y', { state: 'paused', by: 'b' }, late),
          store.controls(c, late),
        ]);
        expect(
          outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).name : o.value)),
        ).toEqual(['LeaseCallLateError', 'LeaseCallLateError', 'LeaseCallLateError']);
        await sleep(100);
        expect(told).toBe(0);
      } finally {
        await watch.close();
      }
      const { version, loops } = await store.controls(c);
      expect(version).toBe(v1);
      expect(loops.map(({ ago, ...rest }) => ({ ...rest, ago: typeof ago }))).toEqual([
        { loop: 'x', state: 'paused', by: 'a', ago: 'number', overrides: undefined },
      ]);
    });

    it('the controls version keeps growing after the cluster keys were deleted behind its back', async () => {
      const c = cluster();
      await store.controlLoop(c, 'x', { state: 'paused', by: 'a' });
      const last = await other.controlLoop(c, 'x', { by: 'b', overrides: '{"period":5}' });
      const keys = await keysOf(c);
      expect(keys).toContain(`${prefix}{cluster:${c}}:cversion`);
      await admin.del(...keys);
      expect(await store.controls(c)).toEqual({ version: 0, loops: [] });
      const next = await store.controlLoop(c, 'y', { state: 'started', by: 'a' });
      expect(next).toBeGreaterThan(last);
      expect((await other.heartbeat(c, join('b'))).controlVersion).toBe(next);
    });

    it("announces a change of control to a watcher on another store's connection", async () => {
      const c = cluster();
      const watcher = open();
      const told: number[] = [];
      const watch = await watcher.watchCluster(c, () => told.push(Date.now()));
      try {
        await sleep(100);
        told.length = 0;
        await store.controlLoop(c, 'x', { by: 'a', overrides: '{"jitter":0.25}' });
        await sleep(100);
        expect(told.length).toBeGreaterThanOrEqual(1);
        // What the watcher reads then is the change it was told of.
        const [x] = (await watcher.controls(c)).loops;
        expect(JSON.parse(x.overrides!)).toEqual({ jitter: 0.25 });
      } finally {
        await watch.close();
      }
    });

    it('keeps override values exactly as sent, and refuses overrides that are not an object', async () => {
      const c = cluster();
      const values = {
        big: 1234567890123456,
        third: 1 / 3,
        empty: [],
        nested: { a: [1, { b: null }], s: 'q"\n\u2028ü' },
        'odd "key"\n': true,
      };
      await store.controlLoop(c, 'x', { by: 'a', overrides: JSON.stringify(values) });
      await store.controlLoop(c, 'x', { by: 'a', overrides: '{}' });
      const [x] = (await other.controls(c)).loops;
      expect(JSON.parse(x.overrides!)).toEqual(values);
      for (const bad of ['[1]', 'null', '5', '"s"']) {
        await expect(store.controlLoop(c, 'x', { by: 'a', overrides: bad })).rejects.toThrow(
          TypeError,
        );
      }
      await expect(store.controlLoop(c, 'x', { by: 'a', overrides: '{' })).rejects.toThrow(
        SyntaxError,
      );
      const { version } = await store.controls(c);
      expect((await store.controls(c)).loops).toEqual([x]);
      expect(version).toBeGreaterThan(0);
    });

    it('heartbeats, claims and releases keep working on members written with the renewal time', async () => {
      const c = cluster();
      const a = await store.heartbeat(c, join('a'));
      const base = `${prefix}{cluster:${c}}`;
      const record = await admin.hget(`${base}:members`, 'a');
      // session expiresAt joinedAt renewedAt digest
      expect(record).toMatch(/^\d+ \S+ \S+ \S+ d1$/);
      await sleep(30);
      const again = await store.heartbeat(c, join('a', { session: a.session, loops: undefined }));
      expect(again.session).toBe(a.session);
      expect(again.members[0].age).toBeGreaterThanOrEqual(25);
      expect(again.members[0].renewedAgo).toBeLessThan(25);
      expect((await store.claimLoops(c, 'a', a.session, ['x']))[0].claimed).toBe(true);
    });

    it('removes members whose lease ran out, with their loop names, at a heartbeat', async () => {
      const c = cluster();
      await store.heartbeat(c, join('gone', { ttl: 100, loops: ['p', 'q'] }));
      const b = await other.heartbeat(c, join('b'));
      const base = `${prefix}{cluster:${c}}`;
      expect(await admin.hexists(`${base}:loops`, 'gone')).toBe(1);
      await sleep(150);
      await other.heartbeat(c, join('b', { session: b.session }));
      expect(await admin.hkeys(`${base}:members`)).toEqual(['b']);
      expect(await admin.hkeys(`${base}:loops`)).toEqual(['b']);
    });

    it('a lease and a cluster of the same name never meet', async () => {
      const c = cluster();
      for (const name of [`cluster:${c}`, c]) {
        expect(await store.acquire(name, 'alice', 5000)).toMatchObject({ acquired: true });
      }
      const a = await store.heartbeat(c, join('a'));
      expect((await store.claimLoops(c, 'a', a.session, ['x']))[0].claimed).toBe(true);
      expect(await other.acquire(`cluster:${c}`, 'bob', 5000)).toEqual({
        acquired: false,
        holder: 'alice',
      });
    });

    it('claims and releases 10,000 loops in one call each', async () => {
      const c = cluster();
      const loops = Array.from({ length: 10_000 }, (_, i) => `tenant ${i} <img src=x> ✓`);
      const a = await store.heartbeat(c, join('a', { loops, digest: 'big' }));
      const b = await other.heartbeat(c, join('b'));
      const timed = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
        const started = performance.now();
        const result = await call();
        console.log(`${what}: ${(performance.now() - started).toFixed(1)} ms`);
        return result;
      };
      expect(await other.memberLoops(c, 'a', 'big')).toEqual(loops);
      const claimed = await timed('claim 10,000', () => store.claimLoops(c, 'a', a.session, loops));
      expect(claimed.every((r) => r.claimed)).toBe(true);
      const owned = claimed.map((r) => ({ loop: r.loop, token: (r as { token: number }).token }));
      const runs = owned.map((o) => ({ ...o, startedAgo: 20, endedAgo: 10 }));
      const released = await timed('release 10,000 with their runs', () =>
        store.releaseLoops(c, 'a', owned, runs),
      );
      expect(released).toEqual(loops);
      const taken = await timed('claim 10,000 again', () =>
        other.claimLoops(c, 'b', b.session, loops),
      );
      taken.forEach((r, i) => {
        if (!r.claimed) throw new Error(`${r.loop} not claimed`);
        expect(r.token).toBeGreaterThan(owned[i].token);
        expect(r.lastRun!.endedAgo).toBeGreaterThanOrEqual(10);
      });
    });

    it('answers the runs of 1,000 loops, of any name, in one command', async () => {
      const c = cluster();
      // A client of the test's own, so that every command the store sends on it is counted.
      const client = new Redis(REDIS_URL);
      const counted = new RedisLeaseStore({ client, keyPrefix: prefix });
      stores.push(counted);
      try {
        const odd = ['', 'q"uote', "it's", 'new\nline', ':*?%_[]', '}{cluster:x}', 'ü ✓ \u2028'];
        const loops = [...odd, ...Array.from({ length: 1000 - odd.length }, (_, i) => `loop ${i}`)];
        const a = await store.heartbeat(c, join('a', { loops }));
        const claimed = await store.claimLoops(c, 'a', a.session, loops);
        const owned = claimed.map((r) => ({ loop: r.loop, token: (r as { token: number }).token }));
        const runs = owned.map((o, i) => ({ ...o, startedAgo: 5, report: `{"i":${i}}` }));
        await store.heartbeat(c, join('a', { session: a.session, runs }));
        await counted.loopRuns(c, ['warm-up']);
        const sent = jest.spyOn(client, 'sendCommand');
        const all = await counted.loopRuns(c);
        const some = await counted.loopRuns(c, [...loops].reverse());
        expect(sent).toHaveBeenCalledTimes(2);
        sent.mockRestore();
        const expected = owned.map((o, i) => [o.loop, 'a', o.token, `{"i":${i}}`]);
        const row = (r: LoopRun) => [r.loop, r.owner, r.token, r.report];
        expect(some.map(row)).toEqual([...expected].reverse());
        const byName = (p: unknown[], q: unknown[]) => (String(p[0]) < String(q[0]) ? -1 : 1);
        expect(all.map(row).sort(byName)).toEqual([...expected].sort(byName));
      } finally {
        client.disconnect();
      }
    });

    it('keeps a report byte for byte, numbers cjson would round included', async () => {
      const c = cluster();
      const report =
        '{ "big": 12345678901234567890, "pi": 3.14159265358979323846, "tiny": 1e-400,' +
        ' "x": 1.50, "s": "\\u00fc ü \\" \\n\\/" }';
      const a = await store.heartbeat(c, join('a'));
      const [x] = await store.claimLoops(c, 'a', a.session, ['x']);
      const token = (x as { token: number }).token;
      // Two records of one loop in one call: the last one's report is kept, as its run is.
      const first = { loop: 'x', token, startedAgo: 9, report: '{"first":1}' };
      await store.heartbeat(
        c,
        join('a', {
          session: a.session,
          runs: [first, { loop: 'x', token, startedAgo: 5, report }],
        }),
      );
      const [run] = await other.loopRuns(c, ['x']);
      expect(run.report).toBe(report);
      const [again] = await other.loopRuns(c);
      expect(again.report).toBe(report);
      await store.heartbeat(
        c,
        join('a', { session: a.session, runs: [{ loop: 'x', token, startedAgo: 1 }, first] }),
      );
      expect((await other.loopRuns(c, ['x']))[0].report).toBe('{"first":1}');
    });

    it('a trigger after the cluster keys were deleted behind its back is kept, at a greater version', async () => {
      const c = cluster();
      await store.controlLoop(c, 'x', { state: 'paused', by: 'a', trigger: 't1' });
      const a = await store.heartbeat(c, join('a'));
      const [x] = await store.claimLoops(c, 'a', a.session, ['x']);
      const token = (x as { token: number }).token;
      const runs = [{ loop: 'x', token, startedAgo: 1, report: '{}' }];
      const last = await other.controlLoop(c, 'x', { by: 'b', trigger: 't2' });
      await store.heartbeat(c, join('a', { session: a.session, runs }));
      await admin.del(...(await keysOf(c)));
      expect(await store.loopRuns(c)).toEqual([]);
      expect(await store.loopRuns(c, ['x'])).toEqual([]);
      const next = await store.controlLoop(c, 'x', { by: 'a', trigger: 't3' });
      expect(next).toBeGreaterThan(last);
      const [control] = (await other.controls(c)).loops;
      expect(control).toMatchObject({ loop: 'x', state: undefined, trigger: 't3' });
      expect(control.triggerAgo).toBeLessThan(1000);
    });

    it('a loopRuns that reaches the server after its timeout is refused, as controls is', async () => {
      const c = cluster();
      // The script queues behind the pause, which ends by itself, and runs after its deadline.
      await admin.call('CLIENT', 'PAUSE', '300', 'WRITE');
      await expect(store.loopRuns(c, undefined, { timeout: 100 })).rejects.toThrow(
        expect.objectContaining({ name: 'LeaseCallLateError' }) as Error,
      );
    });
  });
});
