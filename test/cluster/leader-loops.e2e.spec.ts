import {
  InMemoryLeaseStore,
  LeaderElector,
  type ClusterStore,
  type LeaseStore,
} from '../../lib/index.js';
import { FakeClock, FakeCluster } from '../../lib/testing/index.js';
import { addLoops, bootReplica, Downstream, type App } from './support.js';

/*
 * 'leader' loops on a cluster store: the leader claims them in the store, so that a new leader
 * keeps their cadence (its first run comes a period after the last recorded run, not at once)
 * and the store refuses an old leader's records. On a FakeCluster with the default timings
 * (lease 15s, renew deadline 10s, retry 2s).
 */

const LEASE = 15_000;
const RETRY = 2000;
const hour = 3_600_000;

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

async function replica(identity: string, loop: { period: number; duration: number }) {
  const a = await bootReplica(cluster.replica(identity), {}, 'leader');
  apps.push(a);
  addLoops(a, downstream, { count: 1, prefix: 'job', placement: 'leader', ...loop });
  return a;
}

const leaderOf = () => apps.find((a) => a.replica.state === 'up' && elector(a).isLeader);
const elector = (a: App) => a.app.get(LeaderElector);

describe("'leader' loops keep their cadence across a change of leader", () => {
  it('a 1h sliding loop runs zero extra times through a rolling restart of 3 replicas', async () => {
    for (let i = 0; i < 3; i++) await replica(`r${i}`, { period: hour, duration: 1000 });
    await cluster.clock.advance(3 * RETRY);
    expect(downstream.of('job-0')).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      await cluster.clock.advance(10 * 60_000);
      // The leader goes first in a third of the steps, as it would in a real rollout.
      await cluster.clock.runUntil(apps[i].app.close());
      await replica(`r${i}-v2`, { period: hour, duration: 1000 });
      await cluster.clock.advance(3 * RETRY);
    }
    expect(downstream.of('job-0')).toHaveLength(1);
    await cluster.clock.advance(hour);
    const [a, b] = downstream.of('job-0');
    expect(downstream.of('job-0')).toHaveLength(2);
    expect(b.start - a.end!).toBeGreaterThanOrEqual(hour);
    expect(b.start - a.end!).toBeLessThan(hour + 5000);
    downstream.check();
  });

  it("a crashed leader's successor runs when the period since the last run ends, not at once", async () => {
    for (let i = 0; i < 3; i++) await replica(`r${i}`, { period: 60_000, duration: 100 });
    await cluster.clock.advance(3 * RETRY);
    const [first] = downstream.of('job-0');
    const old = leaderOf()!;
    // Recorded with the next heartbeat (a crash within a retry period of a run loses it).
    await cluster.clock.advance(RETRY + 10);
    old.replica.crash();
    await cluster.clock.advance(LEASE + 3 * RETRY);
    const next = leaderOf()!;
    expect(next).not.toBe(old);
    expect(downstream.of('job-0')).toHaveLength(1);
    await cluster.clock.advance(60_000);
    const [, second] = downstream.of('job-0');
    expect(second.replica).toBe(next.replica.identity);
    expect(second.start - first.end!).toBeGreaterThanOrEqual(60_000);
    expect(second.start - first.end!).toBeLessThan(60_000 + 100);
    downstream.check();
  });

  it('after a crash, a short loop runs on the new leader within leaseDuration + 2.2 x retryPeriod, plus the claim retry', async () => {
    for (let i = 0; i < 3; i++) await replica(`r${i}`, { period: 500, duration: 100 });
    await cluster.clock.advance(3 * RETRY);
    const old = leaderOf()!;
    old.replica.crash();
    const crashedAt = cluster.clock.now();
    await cluster.clock.advance(LEASE + 3 * RETRY);
    const after = downstream.of('job-0').filter((r) => r.start > crashedAt);
    expect(after[0].replica).not.toBe(old.replica.identity);
    // The member lease may outlive the election's by up to a retry period: claimed again a
    // quarter of one later.
    expect(after[0].start - crashedAt).toBeLessThanOrEqual(LEASE + 2.2 * RETRY + RETRY / 4 + 500);
    downstream.check();
  });

  it("a new leader that finds its predecessor's member lease still alive claims again within a quarter retry period", async () => {
    const first = cluster.replica('r0');
    let beat: { identity: string; session: number; digest: string } | undefined;
    const watched: ClusterStore = Object.create(first.store) as ClusterStore;
    watched.heartbeat = async (...args) => {
      const result = await first.store.heartbeat(...args);
      beat = { identity: 'r0', session: result.session, digest: args[1].digest };
      return result;
    };
    const options = first.options('leader');
    const a = await bootReplica(
      first,
      { cluster: { ...options.cluster, store: watched } },
      'leader',
    );
    apps.push(a);
    addLoops(a, downstream, { count: 1, prefix: 'job', placement: 'leader', period: 500 });
    for (let i = 1; i < 3; i++) await replica(`r${i}`, { period: 500, duration: 100 });
    await cluster.clock.advance(3 * RETRY);
    expect(elector(a).isLeader).toBe(true);
    a.replica.crash();
    const crashedAt = cluster.clock.now();
    // r0's member lease outlives its election lease (heartbeats that still land, late, after
    // the crash), then ends 300 ms after the successor was elected.
    let electedAt: number | undefined;
    while (electedAt === undefined) {
      await cluster.store.heartbeat('test', { ...beat!, ttl: 300, runs: [] });
      await cluster.clock.advance(10);
      if (leaderOf() !== undefined) electedAt = cluster.clock.now();
    }
    await cluster.clock.advance(2 * RETRY);
    const after = downstream.of('job-0').filter((r) => r.start > crashedAt);
    expect(after[0].replica).toBe(leaderOf()!.replica.identity);
    // Refused at the election, claimed a quarter retry period later once r0's lease ended; the
    // next heartbeat would have come a whole retry period later.
    expect(after[0].start - electedAt).toBeGreaterThanOrEqual(300);
    expect(after[0].start - electedAt).toBeLessThanOrEqual(RETRY / 4 + 20);
    downstream.check();
  });

  it("a leader paused longer than the lease is replaced; its run in flight is fenced by the term's token", async () => {
    // Runs of 3s every 4s: one is in flight at 6s (4s to 7s).
    for (let i = 0; i < 3; i++) await replica(`r${i}`, { period: 1000, duration: 3000 });
    await cluster.clock.advance(3 * RETRY);
    const old = leaderOf()!;
    const inFlight = downstream.of('job-0').at(-1)!;
    expect(inFlight.end).toBeUndefined();
    old.replica.pause();
    await cluster.clock.advance(LEASE + 6 * RETRY);
    const next = leaderOf()!;
    expect(next).not.toBe(old);
    // The successor wrote before the paused run's write comes, on resume.
    old.replica.resume();
    await cluster.clock.advance(10_000);
    const runs = downstream.of('job-0');
    const theirs = runs.filter((r) => r.replica === next.replica.identity);
    expect(theirs.length).toBeGreaterThan(0);
    expect(theirs[0].token).toBe(elector(next).fencingToken);
    expect(inFlight.written).toBe(false);
    downstream.check();
  });

  it("ctx.fencingToken of a leader loop is the term's token, as before", async () => {
    await replica('r0', { period: 1000, duration: 10 });
    await cluster.clock.advance(3 * RETRY);
    const [run] = downstream.of('job-0');
    expect(run.token).toBe(elector(apps[0]).fencingToken);
  });

  it('on a store without the cluster calls, leader loops follow the elector alone (their cadence restarts)', async () => {
    const clock = new FakeClock(0);
    const local = new Downstream({ clock } as unknown as FakeCluster);
    const shared = new InMemoryLeaseStore(clock);
    const store = leaseOnly(shared);
    const boot = async (identity: string) => {
      const options = {
        clock,
        cluster: { store, name: 'plain', identity, placement: 'leader' as const },
      };
      const fake = { identity, clock, state: 'up', options: () => options };
      const a = await bootReplica(fake as never, options, 'leader');
      addLoops(a, local, { count: 1, prefix: 'job', placement: 'leader', period: hour });
      return a;
    };
    const a = await boot('a');
    const b = await boot('b');
    await clock.advance(3 * RETRY);
    expect(local.of('job-0')).toHaveLength(1);
    await clock.runUntil(a.app.close());
    await clock.advance(3 * RETRY);
    // The new leader knows nothing of the last run: it runs at once.
    expect(local.of('job-0')).toHaveLength(2);
    expect(local.of('job-0')[1].replica).toBe('b');
    await clock.runUntil(b.app.close());
  });
});

/** Only the lease calls of `store`: a custom store written before the cluster contract. */
function leaseOnly(store: InMemoryLeaseStore): LeaseStore {
  return {
    acquire: (name, identity, ttl) => store.acquire(name, identity, ttl),
    renew: (name, lease, ttl) => store.renew(name, lease, ttl),
    release: (name, lease) => store.release(name, lease),
  };
}
