import { Redis } from 'ioredis';
import type { Heartbeat } from '../../lib/cluster/cluster-store.js';
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
  });
});
