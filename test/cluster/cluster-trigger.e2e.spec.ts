import { FakeCluster } from '../../lib/testing/index.js';
import { addLoops, bootReplica, Downstream, type App } from './support.js';

/*
 * trigger() of a spread or leader loop on any replica runs it on its owner, and
 * list({ cluster: true }) / get(name, { cluster: true }) show on every replica what the owner
 * reported. On a FakeCluster with the default timings (lease 15s, renew deadline 10s, retry 2s).
 */

const LEASE = 15_000;
const RENEW = 10_000;
const RETRY = 2000;
const HOUR = 3_600_000;

let cluster: FakeCluster;
let downstream: Downstream;
let apps: App[];

beforeEach(() => {
  cluster = new FakeCluster({ name: 'trg' });
  downstream = new Downstream(cluster);
  apps = [];
});
afterEach(async () => {
  for (const a of apps) if (a.replica.state === 'up') await cluster.clock.runUntil(a.app.close());
});

async function replica(
  identity: string,
  placement: 'spread' | 'leader' = 'spread',
  period = HOUR,
): Promise<App> {
  const a = await bootReplica(cluster.replica(identity), {}, placement);
  apps.push(a);
  addLoops(a, downstream, { count: 1, prefix: 'job', placement, period, duration: 100 });
  return a;
}

/** A loop `name` on each of `on` whose runs take `ms` (until aborted); only triggers run it. */
function addSlow(placement: 'spread' | 'leader', ms: number, name = 'slow', on = apps): void {
  for (const x of on) {
    x.registry.add(
      name,
      ({ signal }) =>
        new Promise<void>((resolve) => {
          const t = x.replica.clock.setTimeout(resolve, ms);
          signal.addEventListener('abort', () => {
            x.replica.clock.clearTimeout(t);
            resolve();
          });
        }),
      { period: HOUR, placement, initialDelay: HOUR },
    );
  }
}

const live = () => apps.filter((a) => a.replica.state === 'up');
const ownerOf = (name: string) =>
  live().find((a) => a.registry.get(name).owner === a.replica.identity && owns(a, name));
const owns = (a: App, name: string) =>
  a.registry.list().some((s) => s.name === name && s.owner === a.replica.identity);
const runsSince = (t: number) => downstream.of('job-0').filter((r) => r.start >= t);

/** Settles `promise` on the fake clock; answers how it settled, and when. */
async function settle(promise: Promise<unknown>): Promise<{ error?: Error; at: number }> {
  let outcome: { error?: Error; at: number } | undefined;
  promise.then(
    () => (outcome = { at: cluster.clock.now() }),
    (error: Error) => (outcome = { error, at: cluster.clock.now() }),
  );
  for (let i = 0; i < 400 && outcome === undefined; i++) await cluster.clock.advance(100);
  if (outcome === undefined) throw new Error('did not settle within 40 s');
  return outcome;
}

describe.each(['spread', 'leader'] as const)('%s loops: trigger() on any replica', (placement) => {
  it('runs the loop once on its owner and resolves once that run settled there', async () => {
    for (let i = 0; i < 3; i++) await replica(`r${i}`, placement);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    const other = live().find((a) => a !== owner)!;
    const asked = cluster.clock.now();
    const { error, at } = await settle(other.registry.trigger('job-0'));
    expect(error).toBeUndefined();
    const runs = runsSince(asked);
    expect(runs.map((r) => r.replica)).toEqual([owner.replica.identity]);
    expect(runs[0].end).toBeLessThanOrEqual(at);
    // Resolved within a read or two of the run's end.
    expect(at - runs[0].end!).toBeLessThanOrEqual(RETRY);
    await cluster.clock.advance(5 * RETRY);
    expect(runsSince(asked)).toHaveLength(1);
    downstream.check();
  });

  it('on the owner, runs it there without the store', async () => {
    for (let i = 0; i < 2; i++) await replica(`r${i}`, placement);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    const asked = cluster.clock.now();
    const { error, at } = await settle(owner.registry.trigger('job-0'));
    expect(error).toBeUndefined();
    expect(runsSince(asked).map((r) => r.replica)).toEqual([owner.replica.identity]);
    expect(at - asked).toBeLessThanOrEqual(200);
  });

  it('rejects at once for a loop paused cluster-wide, naming it and who paused it', async () => {
    for (let i = 0; i < 2; i++) await replica(`r${i}`, placement);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    const other = live().find((a) => a !== owner)!;
    await cluster.clock.runUntil(owner.registry.stop('job-0'));
    await cluster.clock.advance(RETRY);
    const asked = cluster.clock.now();
    const { error, at } = await settle(other.registry.trigger('job-0'));
    expect(error?.message).toMatch(/PollingRegistry\.trigger\(\).*"job-0".*paused.*"r\d"/);
    expect(at - asked).toBeLessThanOrEqual(100);
    // On the owner as well.
    await expect(owner.registry.trigger('job-0')).rejects.toThrow(/is paused cluster-wide/);
    expect(runsSince(asked)).toEqual([]);
  });

  it('with no live owner (it crashed), rejects within the lease duration naming the loop, and never runs it', async () => {
    for (let i = 0; i < 3; i++) await replica(`r${i}`, placement);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    const other = live().find((a) => a !== owner)!;
    owner.replica.crash();
    const asked = cluster.clock.now();
    const { error, at } = await settle(other.registry.trigger('job-0'));
    expect(error?.message).toMatch(/PollingRegistry\.trigger\(\).*no live owner of loop "job-0"/);
    expect(at - asked).toBeGreaterThanOrEqual(LEASE);
    expect(at - asked).toBeLessThanOrEqual(LEASE + RETRY);
    // The next owner heard of the trigger too late to take it, and the loop's hour is not up.
    await cluster.clock.advance(LEASE);
    expect(runsSince(asked)).toEqual([]);
    expect(ownerOf('job-0')).toBeDefined();
  });

  it('rejects within the renew deadline when the store is out of reach, having asked nothing', async () => {
    for (let i = 0; i < 2; i++) await replica(`r${i}`, placement);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    const other = live().find((a) => a !== owner)!;
    other.replica.partition();
    const asked = cluster.clock.now();
    const { error, at } = await settle(other.registry.trigger('job-0'));
    expect(error?.message).toMatch(/trigger\(\).*store did not take the trigger of loop "job-0"/);
    expect(at - asked).toBeLessThanOrEqual(RENEW + 100);
    other.replica.heal();
    await cluster.clock.advance(3 * RETRY);
    expect(runsSince(asked)).toEqual([]);
  });

  it('the owner lost during the triggered run: the call rejects naming the owner', async () => {
    for (let i = 0; i < 2; i++) await replica(`r${i}`, placement);
    // Long runs, so that the crash lands inside the triggered one.
    const [a, b] = apps;
    addSlow(placement, 20_000);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('slow')!;
    const other = owner === a ? b : a;
    const pending = settle(other.registry.trigger('slow'));
    await cluster.clock.advance(3 * RETRY);
    expect(owner.registry.get('slow').inFlight).toBe(true);
    expect((await other.registry.get('slow', { cluster: true })).inFlight).toBe(true);
    owner.replica.crash();
    const { error } = await pending;
    expect(error?.message).toMatch(
      /owner ".*" of loop "slow" was lost before the triggered run settled/,
    );
  });

  it('taken, then the store out of reach from the caller: rejects once it could not read for the lease duration', async () => {
    for (let i = 0; i < 2; i++) await replica(`r${i}`, placement);
    addSlow(placement, 60_000);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('slow')!;
    const other = live().find((a) => a !== owner)!;
    const pending = settle(other.registry.trigger('slow'));
    await cluster.clock.advance(2 * RETRY);
    expect(owner.registry.get('slow').inFlight).toBe(true);
    other.replica.partition();
    const cut = cluster.clock.now();
    const { error, at } = await pending;
    expect(error?.message).toMatch(
      /took the trigger, but the store could not be read for 15000 ms/,
    );
    expect(at - cut).toBeLessThanOrEqual(LEASE + RENEW);
    other.replica.heal();
  });

  it('rejects on shutdown while it waits', async () => {
    for (let i = 0; i < 2; i++) await replica(`r${i}`, placement);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    const other = live().find((a) => a !== owner)!;
    owner.replica.crash();
    const pending = settle(other.registry.trigger('job-0'));
    await cluster.clock.advance(RETRY);
    await cluster.clock.runUntil(other.app.close());
    const { error } = await pending;
    expect(error?.message).toMatch(/shutting down.*"job-0"/);
  });
});

describe('trigger() racing with a move', () => {
  it('as the loop moves to a joining replica: it runs at most once, never overlapping, or rejects naming the loop', async () => {
    for (let i = 0; i < 2; i++) await replica(`r${i}`, 'spread', 1000);
    await cluster.clock.advance(3 * RETRY);
    const asker = apps[0];
    const outcomes: Array<{ error?: Error }> = [];
    for (let k = 0; k < 6; k++) {
      const before = cluster.clock.now();
      const pending = settle(asker.registry.trigger('job-0'));
      // A replica joins (or leaves) while the trigger is on its way: the loop may move.
      if (k % 2 === 0) await replica(`j${k}`, 'spread', 1000);
      else await cluster.clock.runUntil(apps[apps.length - 1].app.close());
      outcomes.push(await pending);
      await cluster.clock.advance(RETRY);
      expect(runsSince(before).length).toBeGreaterThan(0);
    }
    for (const o of outcomes) {
      if (o.error !== undefined) expect(o.error.message).toMatch(/"job-0"/);
    }
    downstream.check();
  });
  it('taken, then the loop moves to a joiner before it ran: the call rejects naming the owner that took it', async () => {
    // Found by trigger.properties.spec.ts. r2 owns loop "job" and takes both triggers, the
    // second behind the first one's run; r4 joins and takes the loop over, and never runs the
    // second. The store's record still lists it as queued, under r4's live claim by the time
    // the caller first reads it: the caller must see that r2 took it and was replaced.
    for (let i = 0; i < 3; i++) await replica(`r${i}`);
    addSlow('spread', 300, 'job');
    await cluster.clock.advance(4000);
    expect(ownerOf('job')?.replica.identity).toBe('r2');
    const outcomes: Array<{ error?: Error }> = [];
    const ask = () => {
      const outcome: { error?: Error } = {};
      apps[0].registry.trigger('job').then(
        () => outcomes.push(outcome),
        (error: Error) => outcomes.push({ error }),
      );
    };
    ask();
    addSlow('spread', 300, 'job', [await replica('r3')]);
    ask();
    addSlow('spread', 300, 'job', [await replica('r4')]);
    await cluster.clock.advance(2 * LEASE);
    expect(ownerOf('job')?.replica.identity).toBe('r4');
    expect(outcomes).toHaveLength(2);
    const errors = outcomes.map((o) => o.error?.message).filter((m) => m !== undefined);
    expect(errors).toEqual([
      expect.stringMatching(/owner "r2" of loop "job" was lost before the triggered run settled/),
    ]);
    downstream.check();
  });
});

describe('list({ cluster: true }) and get(name, { cluster: true })', () => {
  it("every replica shows the owner's last run, outcome, error message and next run", async () => {
    for (let i = 0; i < 3; i++) {
      const a = await bootReplica(cluster.replica(`r${i}`), {}, 'spread');
      apps.push(a);
      let n = 0;
      a.registry.add(
        'flaky',
        () => {
          if (++n % 2 === 0) throw new Error('<img src=x onerror=alert(1)> went wrong');
        },
        { period: 1000, placement: 'spread', sliding: false },
      );
    }
    await cluster.clock.advance(3 * RETRY + 500);
    const owner = ownerOf('flaky')!;
    await cluster.clock.advance(2 * RETRY);
    const views = [];
    for (const a of apps)
      views.push(await cluster.clock.runUntil(a.registry.list({ cluster: true })));
    const mine = owner.registry.get('flaky');
    for (const [status] of views) {
      expect(status).toMatchObject({
        name: 'flaky',
        placement: 'spread',
        owner: owner.replica.identity,
        state: 'running',
        period: 1000,
      });
      // Reported at the last heartbeat: at most a retry period behind the owner's own view.
      expect(mine.iterations - status.iterations).toBeLessThanOrEqual(RETRY / 1000 + 1);
      expect(status.iterations).toBeGreaterThan(0);
      expect(status.failures).toBeGreaterThan(0);
      expect(status.lastErrorMessage).toBe('Error: <img src=x onerror=alert(1)> went wrong');
      expect(status.lastOutcome).toMatch(/^(succeeded|failed)$/);
      expect(status.lastStartedAt!.getTime()).toBeGreaterThan(cluster.clock.now() - RETRY - 1100);
      expect(status.lastEndedAt!.getTime()).toBeGreaterThanOrEqual(status.lastStartedAt!.getTime());
      expect(status.nextRunAt!.getTime()).toBeGreaterThan(status.lastStartedAt!.getTime());
    }
    for (const [i, [status]] of views.entries()) {
      if (apps[i] !== owner) expect(status.reportedAt).toBeInstanceOf(Date);
    }
    // The replicas that do not own it agree with each other.
    const others = views.filter((_, i) => apps[i] !== owner).map(([s]) => s);
    expect(others[0]).toEqual(others[1]);
    const one = await cluster.clock.runUntil(apps[0].registry.get('flaky', { cluster: true }));
    expect(one.owner).toBe(owner.replica.identity);
  });

  it('shows a loop with no live owner as standby, and a paused one as paused', async () => {
    for (let i = 0; i < 2; i++) await replica(`r${i}`, 'spread', 1000);
    await cluster.clock.advance(3 * RETRY);
    const owner = ownerOf('job-0')!;
    const other = live().find((a) => a !== owner)!;
    owner.replica.crash();
    await cluster.clock.advance(RETRY);
    const [before] = await cluster.clock.runUntil(other.registry.list({ cluster: true }));
    // The crashed owner's lease still lives: the store still names it.
    expect(before).toMatchObject({ owner: owner.replica.identity, state: 'running' });
    await cluster.clock.advance(LEASE);
    await cluster.clock.runUntil(other.registry.stop('job-0'));
    const [after] = await cluster.clock.runUntil(other.registry.list({ cluster: true }));
    expect(after).toMatchObject({
      owner: other.replica.identity,
      state: 'paused',
      pausedBy: 'r' + other.replica.identity.slice(1),
    });
  });

  it('rejects within the renew deadline naming the call when the store is out of reach; get() rejects for an unknown loop', async () => {
    const a = await replica('r0', 'spread', 1000);
    const b = await replica('r1', 'spread', 1000);
    await cluster.clock.advance(3 * RETRY);
    const other = ownerOf('job-0') === a ? b : a;
    other.replica.partition();
    const asked = cluster.clock.now();
    const { error, at } = await settle(other.registry.list({ cluster: true }));
    expect(error?.message).toMatch(/PollingRegistry\.list\(\): could not read the cluster's view/);
    expect(at - asked).toBeLessThanOrEqual(RENEW + 100);
    other.replica.heal();
    await expect(other.registry.get('nope', { cluster: true })).rejects.toThrow(
      /PollingRegistry\.get\(\).*"nope"/,
    );
  });

  it("'every' loops and apps without a cluster show this replica's view", async () => {
    const a = await bootReplica(cluster.replica('r0'), {}, 'every');
    apps.push(a);
    a.registry.add('here', () => undefined, { period: 1000 });
    await cluster.clock.advance(1500);
    const [status] = await cluster.clock.runUntil(a.registry.list({ cluster: true }));
    expect(status).toEqual(a.registry.get('here'));
    expect(status.iterations).toBeGreaterThan(0);
  });
});
