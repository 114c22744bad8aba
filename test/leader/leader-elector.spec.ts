import { firstValueFrom } from 'rxjs';
import { FakeClock } from '../../lib/testing/index.js';
import {
  InMemoryLeaseStore,
  LeaderElector,
  type Leadership,
  type LeaderElectionOptions,
} from '../../lib/index.js';
import { ManagedLoop } from '../../lib/polling/loop/managed-loop.js';
import type { PollingContext } from '../../lib/index.js';
import { LineLog, SwitchedStore } from './support.js';
import { QUIET } from '../support/helpers.js';

/*
 * Client-go's algorithm on FakeClock, with replicas as electors sharing one in-memory store.
 * Timings as the failure tests: lease 1s, renew deadline 600ms, retry 150ms.
 */

const LEASE = 1000;
const RENEW = 600;
const RETRY = 150;
let clock: FakeClock;
let electors: LeaderElector[];

beforeEach(() => {
  clock = new FakeClock();
  electors = [];
});
afterEach(async () => {
  await clock.runUntil(Promise.all(electors.map((e) => e.stop(false))));
});

function elector(
  store: SwitchedStore | InMemoryLeaseStore,
  identity: string,
  extra: Partial<LeaderElectionOptions> = {},
  random = () => 0,
  logger = new LineLog(),
): LeaderElector {
  const e = new LeaderElector(
    {
      store,
      name: 'gc',
      identity,
      leaseDuration: LEASE,
      renewDeadline: RENEW,
      retryPeriod: RETRY,
      ...extra,
    },
    { clock, logger, random },
  );
  electors.push(e);
  return e;
}

/**
 * A leader-only loop on `gate`, every 100 ms, recording (time, token) and its signals. With
 * `holding`, each run lasts until its signal aborts.
 */
function gatedLoop(gate: LeaderElector, holding = false) {
  const runs: { at: number; token: number | undefined }[] = [];
  const signals: AbortSignal[] = [];
  const loop = new ManagedLoop(
    'work',
    (ctx: PollingContext) => {
      runs.push({ at: clock.now(), token: ctx.fencingToken });
      signals.push(ctx.signal);
      if (holding) {
        return new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      }
    },
    { period: 100, jitter: 0, sliding: true, initialDelay: 0, backoff: undefined },
    { clock, random: () => 0, observer: QUIET },
    gate,
  );
  gate.attach(loop);
  return { loop, runs, signals };
}

describe('LeaderElector options (client-go rules, at construction)', () => {
  const base = { name: 'gc', leaseDuration: 1000, renewDeadline: 600, retryPeriod: 150 };
  it.each([
    [
      { leaseDuration: 600 },
      /leaseDuration > renewDeadline > retryPeriod \* 1.2.*leaseDuration 600 ms, renewDeadline 600 ms/,
    ],
    [{ renewDeadline: 180 }, /renewDeadline 180 ms, retryPeriod 150 ms/],
    [{ retryPeriod: 0 }, /retryPeriod must be more than 0; got 0 ms/],
    [{ leaseDuration: -1 }, /leaseDuration/],
    [{ identity: '' }, /identity must be a non-empty string; got ""/],
    [{ name: '' }, /name \(the lease's name, shared by every replica\) must be a non-empty string/],
    [
      { store: { acquire: () => undefined } },
      /store must have acquire\(\), renew\(\) and release\(\)/,
    ],
    [{ releaseOnShutdown: 'yes' }, /releaseOnShutdown must be true or false; got "yes"/],
    [
      { leaseDuraton: '15s' },
      /leaderElection: unknown option "leaseDuraton"; the options are store/,
    ],
  ])('rejects %j', (bad, message) => {
    expect(
      () => new LeaderElector({ ...base, ...bad } as LeaderElectionOptions, { clock }),
    ).toThrow(message);
    expect(() => new LeaderElector({ ...base, ...bad } as LeaderElectionOptions)).toThrow(
      /new LeaderElector\(\)/,
    );
  });

  it("has client-go's defaults: 15s, 10s, 2s; an identity unique per process", () => {
    const e = new LeaderElector({ name: 'gc' }, { clock });
    const f = new LeaderElector({ name: 'gc' }, { clock });
    expect(e.identity).toMatch(/^.+-\d+-[0-9a-f]{6}$/);
    expect(e.identity).not.toBe(f.identity);
    // renewDeadline 10s is accepted with retryPeriod 2s (10 > 2.4), lease 15s > 10s.
    expect(() => new LeaderElector({ name: 'gc', renewDeadline: '2.4s' }, { clock })).toThrow(
      /renewDeadline 2400 ms, retryPeriod 2000 ms/,
    );
  });
});

describe('LeaderElector', () => {
  it('acquires a free lease at once (token 1) and renews it every retryPeriod', async () => {
    const store = new SwitchedStore(clock);
    const a = elector(store, 'a');
    const seen: Leadership[] = [];
    a.leadership$.subscribe((l) => seen.push(l));
    a.start();
    await clock.flush();
    expect(a.isLeader).toBe(true);
    expect(a.fencingToken).toBe(1);
    expect(a.leaderIdentity).toBe('a');
    expect(seen).toEqual([
      { leading: false, identity: 'a', leader: undefined, fencingToken: undefined },
      { leading: true, identity: 'a', leader: 'a', fencingToken: 1 },
    ]);
    await clock.advance(RETRY * 4);
    expect(store.calls).toEqual(['acquire', 'renew', 'renew', 'renew', 'renew']);
    expect(a.fencingToken).toBe(1);
  });

  it('lets one of two replicas lead; the other follows, retrying every [retry, 2.2 retry)', async () => {
    const store = new SwitchedStore(clock);
    const a = elector(store, 'a');
    const bStore = store.twin(clock);
    let draw = 0.999;
    const b = elector(bStore, 'b', {}, () => draw);
    a.start();
    b.start();
    await clock.flush();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(b.leaderIdentity).toBe('a');
    // Jitter 1.2: with random 0.999 the wait is just under 2.2 retry periods.
    await clock.advance(2.2 * RETRY - 1);
    expect(bStore.calls).toEqual(['acquire']);
    draw = 0; // the next wait is drawn when this attempt settles
    await clock.advance(1);
    expect(bStore.calls).toEqual(['acquire', 'acquire']);
    await clock.advance(RETRY);
    expect(bStore.calls).toEqual(['acquire', 'acquire', 'acquire']);
    expect(b.isLeader).toBe(false);
  });

  it('crash failover: a follower leads within leaseDuration + 2.2 * retryPeriod, with a greater token', async () => {
    const store = new SwitchedStore(clock);
    const a = elector(store, 'a');
    const b = elector(store.twin(clock), 'b', {}, () => 0.999);
    a.start();
    await clock.flush();
    b.start();
    await clock.advance(RETRY * 3);
    const lastRenewal = clock.now() - (clock.now() % RETRY);
    store.set('hang'); // "a" is gone: nothing it sends arrives
    let tookOver: number | undefined;
    b.leadership$.subscribe((l) => {
      if (l.leading) tookOver ??= clock.now();
    });
    await clock.advance(LEASE + 2.2 * RETRY + RETRY);
    expect(tookOver).toBeDefined();
    expect(tookOver! - lastRenewal).toBeLessThanOrEqual(LEASE + 2.2 * RETRY);
    expect(tookOver! - lastRenewal).toBeGreaterThanOrEqual(LEASE);
    expect(b.fencingToken).toBe(2);
    expect(a.isLeader).toBe(false);
  });

  it('graceful handover: released on stop and announced, the follower leads at the same instant', async () => {
    const store = new InMemoryLeaseStore(clock);
    const a = elector(store, 'a');
    const b = elector(store, 'b', {}, () => 0.5);
    a.start();
    await clock.flush();
    b.start();
    await clock.advance(RETRY * 2);
    const at = clock.now();
    await a.stop(true);
    await clock.flush();
    expect(b.isLeader).toBe(true);
    expect(clock.now()).toBe(at);
    expect(b.fencingToken).toBe(2);
  });

  it('without release, the lease stays until it expires: no follower leads before leaseDuration', async () => {
    const store = new InMemoryLeaseStore(clock);
    const a = elector(store, 'a');
    const b = elector(store, 'b', {}, () => 0);
    a.start();
    await clock.flush();
    b.start();
    await clock.flush();
    const at = clock.now();
    await a.stop(false);
    await clock.advance(LEASE - 1);
    expect(b.isLeader).toBe(false);
    await clock.advance(RETRY + 1);
    expect(b.isLeader).toBe(true);
    expect(clock.now() - at).toBeLessThanOrEqual(LEASE + RETRY);
  });

  it('store outage: stops leading exactly renewDeadline after the last confirmed renewal was sent, and fails closed', async () => {
    const store = new SwitchedStore(clock);
    const log = new LineLog();
    const a = elector(store, 'a', {}, () => 0, log);
    const idle = gatedLoop(a); // attached, never started: never runs
    a.start();
    const work = gatedLoop(a, true);
    work.loop.start();
    await clock.advance(RETRY * 2); // renewals sent at 150 and 300 confirmed
    expect(a.isLeader).toBe(true);
    expect(work.runs.length).toBeGreaterThan(0);
    store.set('hang');
    await clock.advance(RENEW - 1); // 300 + 600 - 1
    expect(a.isLeader).toBe(true);
    const before = work.runs.length;
    await clock.advance(1);
    expect(clock.now()).toBe(900);
    expect(a.isLeader).toBe(false);
    expect(work.signals).toHaveLength(1);
    expect(work.signals[0].aborted).toBe(true);
    expect(work.loop.state).toBe('standby');
    await clock.advance(5 * LEASE);
    expect(work.runs.length).toBe(before); // no run while the store is out
    expect(idle.runs).toEqual([]);
    expect(log.of('warn')).toContainEqual(
      expect.stringMatching(
        /Lost the lease "gc" \(no renewal confirmed within the renew deadline\)/,
      ),
    );
    store.set('up');
    await clock.advance(2.2 * RETRY + RENEW);
    expect(a.isLeader).toBe(true);
    expect(work.loop.state).toBe('running');
    expect(work.runs.at(-1)!.token).toBe(a.fencingToken);
  });

  it('counts the renew deadline from when the confirmed call was sent, not from its slow answer', async () => {
    const store = new SwitchedStore(clock);
    store.latency = 100;
    const a = elector(store, 'a');
    a.start();
    await clock.advance(100); // acquire sent at 0, answered at 100
    expect(a.isLeader).toBe(true);
    await clock.advance(RETRY + 100); // renewal sent at 250, answered at 350
    expect(store.calls).toEqual(['acquire', 'renew']);
    store.set('hang');
    await clock.advance(250 + RENEW - 350 - 1);
    expect(a.isLeader).toBe(true);
    await clock.advance(1);
    expect(clock.now()).toBe(250 + RENEW);
    expect(a.isLeader).toBe(false);
  });

  it('a call that is never answered does not block the elector: the next attempts go through', async () => {
    const store = new SwitchedStore(clock);
    const a = elector(store, 'a');
    a.start();
    await clock.advance(RETRY);
    store.set('drop');
    await clock.advance(RENEW + RETRY);
    expect(a.isLeader).toBe(false);
    store.set('up');
    await clock.advance(RENEW + 2.2 * RETRY);
    expect(a.isLeader).toBe(true);
  });

  it('a shutdown steps down without a warning', async () => {
    const log = new LineLog();
    const a = elector(new InMemoryLeaseStore(clock), 'a', {}, () => 0, log);
    a.start();
    await clock.flush();
    await a.stop(true);
    expect(log.of('warn')).toEqual([]);
    expect(log.of('log')).toEqual([
      'Leader election for "gc" started as "a"',
      'Leading "gc" (fencing token 1); leader-only loops start',
      'Stopped leading "gc": shutting down',
      'Released the lease "gc"',
    ]);
  });

  it('store errors: one warning per kind of failure with the retry period, then one line when it answers again', async () => {
    const store = new SwitchedStore(clock);
    const log = new LineLog();
    const a = elector(store, 'a', {}, () => 0, log);
    store.set('fail');
    a.start();
    await clock.advance(RETRY * 10);
    expect(a.isLeader).toBe(false);
    expect(log.of('warn')).toEqual([
      'Lease store failed to acquire "gc": connect ECONNREFUSED 127.0.0.1:1; retrying every 150 ms',
    ]);
    expect(log.of('debug').length).toBeGreaterThanOrEqual(9);
    store.set('up');
    await clock.advance(RETRY);
    expect(log.of('log')).toContainEqual(
      expect.stringMatching(/answers again for "gc" after \d+ failed calls/),
    );
    expect(a.isLeader).toBe(true);
  });

  it('a renewal that finds the lease taken over stops leading at once', async () => {
    const inner = new InMemoryLeaseStore(clock);
    const a = elector(inner, 'a');
    a.start();
    await clock.flush();
    const work = gatedLoop(a);
    work.loop.start();
    await clock.flush();
    // Someone else's term, as after an expiry this replica did not notice.
    await inner.release('gc', { holder: 'a', token: 1 });
    await inner.acquire('gc', 'z', LEASE);
    await clock.advance(RETRY);
    expect(a.isLeader).toBe(false);
    expect(work.signals.at(-1)!.aborted).toBe(true);
    await clock.advance(RETRY * 3);
    expect(a.leaderIdentity).toBe('z');
  });

  it('an answer that arrives after the renew deadline does not make a leader', async () => {
    const store = new SwitchedStore(clock);
    const a = elector(store, 'a');
    store.set('hang');
    a.start();
    await clock.advance(RENEW + 10); // the acquire call gave up at the renew deadline
    store.set('up'); // ...and now reaches the store: the lease is "a"'s, unknown to it
    await clock.flush();
    expect(a.isLeader).toBe(false);
    // The next attempt finds its own identity and starts a new term.
    await clock.advance(2.2 * RETRY);
    expect(a.isLeader).toBe(true);
    expect(a.fencingToken).toBe(2);
  });

  it('every new term gets a greater token (100 handovers among three replicas)', async () => {
    const store = new InMemoryLeaseStore(clock);
    const all = ['a', 'b', 'c'].map((id, i) => elector(store, id, {}, () => i / 3));
    for (const e of all) e.start();
    let last = 0;
    for (let i = 0; i < 100; i++) {
      await clock.advance(RETRY);
      const leaders = all.filter((e) => e.isLeader);
      expect(leaders.length).toBeLessThanOrEqual(1);
      for (const l of leaders) {
        expect(l.fencingToken!).toBeGreaterThanOrEqual(last);
        last = l.fencingToken!;
      }
      // Churn: the leader drops its lease now and then (released), as on redeploys.
      if (i % 7 === 0 && leaders[0] !== undefined)
        await store.release('gc', { holder: leaders[0].identity, token: leaders[0].fencingToken! });
    }
    expect(last).toBeGreaterThan(5);
  });

  it('a release that fails is logged once, and stop() still completes', async () => {
    const store = new SwitchedStore(clock);
    const log = new LineLog();
    const a = elector(store, 'a', {}, () => 0, log);
    a.start();
    await clock.flush();
    store.set('fail');
    await a.stop(true);
    expect(log.of('warn')).toEqual([
      'Could not release the lease "gc" (connect ECONNREFUSED 127.0.0.1:1); it expires by itself',
    ]);
  });

  it('stop() completes leadership$ and is idempotent', async () => {
    const a = elector(new InMemoryLeaseStore(clock), 'a');
    a.start();
    await clock.flush();
    const done = firstValueFrom(a.leadership$, { defaultValue: undefined });
    await Promise.all([a.stop(true), a.stop(true)]);
    expect(await done).toBeDefined();
    expect(a.isLeader).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('LeaderElector shutdown (the chaos run: a ghost holder, an unbounded stop)', () => {
  it('once retired it sends no acquire, so a replica shutting down never takes the lease', async () => {
    const store = new SwitchedStore(clock);
    const holder = elector(new SwitchedStore(clock, store.inner), 'holder');
    holder.start();
    await clock.flush();
    const a = elector(store, 'a');
    a.start();
    await clock.advance(RETRY * 3);
    const sent = store.calls.length;
    a.retire();
    await holder.stop(true); // the lease is free and announced
    await clock.advance(LEASE * 2);
    expect(store.calls.slice(sent)).toEqual([]);
    expect(a.isLeader).toBe(false);
  });

  it('a retired leader goes on renewing while its runs settle, and keeps leading', async () => {
    const store = new SwitchedStore(clock);
    const a = elector(store, 'a');
    a.start();
    await clock.flush();
    a.retire();
    store.calls.length = 0;
    await clock.advance(LEASE * 3);
    expect(a.isLeader).toBe(true);
    expect(new Set(store.calls)).toEqual(new Set(['renew']));
  });

  it('stop() waits for the acquire in flight and releases the lease it took, even one answered after the elector gave up', async () => {
    const store = new SwitchedStore(clock);
    const a = elector(store, 'a');
    store.set('hang');
    a.start();
    await clock.advance(10); // the acquire is in flight
    const stopped = a.stop(true, 1000);
    await clock.advance(100);
    store.set('up'); // the acquire lands: the lease is "a"'s, never led
    await clock.runUntil(stopped);
    expect(store.calls).toEqual(['acquire', 'release']);
    expect(await store.inner.acquire('gc', 'b', LEASE)).toMatchObject({ acquired: true });
  });

  it('stop() with a call never answered: bounded by its timeout, and releases every term of its identity', async () => {
    const store = new SwitchedStore(clock);
    const a = elector(store, 'a');
    a.start();
    await clock.flush();
    store.set('drop');
    await clock.advance(RETRY); // a renewal that is never answered
    const began = clock.now();
    await clock.runUntil(a.stop(true, 500));
    expect(clock.now() - began).toBe(500);
    expect(store.calls.at(-1)).toBe('release');
  });
});
