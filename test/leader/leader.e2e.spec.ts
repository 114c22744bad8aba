import { Injectable } from '@nestjs/common';
import {
  InMemoryLeaseStore,
  LeaderElector,
  PollingRegistry,
  Until,
  WaitModule,
  type PollingContext,
  type WaitModuleOptions,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { boot, close, type Booted } from '../polling/support.js';

/*
 * Leader election inside Nest apps: two apps on one FakeClock and one in-memory store stand for
 * two replicas. Timings: lease 1s, renew deadline 600ms, retry 150ms.
 */

let clock: FakeClock;
let store: InMemoryLeaseStore;
let apps: Booted[];
/** Every run of a leader-only loop: which replica, when, with which token; and its signal. */
let runs: { replica: string; at: number; token: number | undefined; signal: AbortSignal }[];
/** How long each leader-only run lasts after its signal aborts (a run that honours it late). */
let lingerAfterAbort: number;

beforeEach(() => {
  clock = new FakeClock(0);
  store = new InMemoryLeaseStore(clock);
  apps = [];
  runs = [];
  lingerAfterAbort = 0;
});
afterEach(async () => {
  for (const app of apps) await close(app);
});

function worker(replica: string) {
  @Injectable()
  class Worker {
    everywhere = 0;

    @Until('1s', { name: 'work' })
    async work({ signal, fencingToken }: PollingContext) {
      runs.push({ replica, at: clock.now(), token: fencingToken, signal });
      // Busy for 300 ms, or until aborted (plus the lingering).
      await new Promise<void>((resolve) => {
        const timer = clock.setTimeout(resolve, 300);
        signal.addEventListener('abort', () => {
          clock.clearTimeout(timer);
          clock.setTimeout(resolve, lingerAfterAbort);
        });
      });
    }

    @Until('1s', { name: 'everywhere', leaderOnly: false })
    count(ctx: PollingContext) {
      expect(ctx.fencingToken).toBeUndefined();
      this.everywhere++;
    }
  }
  return Worker;
}

async function replica(identity: string, extra: Partial<WaitModuleOptions> = {}): Promise<Booted> {
  const booted = await boot(
    { providers: [worker(identity)] },
    {
      leaderElection: {
        store,
        name: 'gc',
        identity,
        leaseDuration: '1s',
        renewDeadline: '600ms',
        retryPeriod: '150ms',
      },
      ...extra,
    },
    { clock },
  );
  apps.push(booted);
  await clock.flush();
  return booted;
}

const registryOf = (b: Booted) => b.app.get(PollingRegistry);

describe('leader election in WaitModule', () => {
  it('runs leader-only loops on the leader only; the follower stands by; other loops run everywhere', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await clock.advance('3s');
    expect(new Set(runs.map((r) => r.replica))).toEqual(new Set(['a']));
    expect(runs.every((r) => r.token === 1)).toBe(true);
    expect(registryOf(a).get('work').state).toBe('running');
    expect(registryOf(b).get('work')).toMatchObject({ state: 'standby', iterations: 0 });
    expect(registryOf(b).get('work').nextRunAt).toBeUndefined();
    expect(registryOf(b).get('everywhere').state).toBe('running');
    expect(registryOf(b).get('everywhere').iterations).toBeGreaterThanOrEqual(3);
    expect(a.app.get(LeaderElector).isLeader).toBe(true);
    expect(b.app.get(LeaderElector).leaderIdentity).toBe('a');
  });

  it("graceful handover: closing the leader aborts its run, releases the lease after it settled; the follower leads at once and keeps the loop's cadence", async () => {
    lingerAfterAbort = 250;
    const a = await replica('a');
    const b = await replica('b');
    await clock.advance('1400ms'); // a's second run (from 1300) is in flight
    const inFlight = runs.at(-1)!;
    const closing = close(a);
    apps.shift();
    await closing;
    expect(inFlight.signal.aborted).toBe(true);
    // Released once a's run settled (250 ms after the abort), and taken at once.
    expect(clock.now()).toBe(1400 + 250);
    await clock.flush();
    expect(b.app.get(LeaderElector).isLeader).toBe(true);
    expect(registryOf(b).get('work').runningSince!.getTime()).toBe(1400 + 250);
    await clock.advance('1100ms');
    const takeover = runs.find((r) => r.replica === 'b')!;
    expect(takeover).toBeDefined();
    // a's last run ended at 1650 (sliding, 1s): b's first run is a period after it, not at once.
    expect(takeover.at).toBe(1650 + 1000);
    expect(takeover.token).toBe(2);
  });

  it('a run that outlives shutdownTimeout keeps the lease from being released: the follower waits for expiry', async () => {
    lingerAfterAbort = 10_000;
    const a = await replica('a', { shutdownTimeout: '200ms' });
    const b = await replica('b');
    await clock.advance('100ms');
    await close(a).catch(() => undefined);
    apps.shift();
    // Nest's static Logger writes to the logger of the app created last.
    expect([...a.logger.of('warn'), ...b.logger.of('warn')]).toContainEqual(
      expect.stringMatching(
        /Not releasing the lease "gc": work still running; it expires by itself/,
      ),
    );
    const closedAt = clock.now();
    await clock.advance('2s');
    const takeover = runs.find((r) => r.replica === 'b')!;
    expect(takeover.at - closedAt).toBeGreaterThan(600); // the lease ran out, not released
  });

  it('a loop of every replica that outlives shutdownTimeout does not hold the lease back', async () => {
    const a = await replica('a', { shutdownTimeout: '200ms' });
    const b = await replica('b');
    registryOf(a).add('stuck', () => new Promise(() => undefined), {
      period: 1000,
      leaderOnly: false,
    });
    await clock.advance('400ms'); // a's leader-only run settled at 300; "stuck" never will
    const closing = close(a).catch(() => undefined);
    apps.shift();
    await closing;
    await clock.flush();
    // Released at close, not expired a second later.
    expect(b.app.get(LeaderElector).isLeader).toBe(true);
    await clock.advance('1s');
    const takeover = runs.find((r) => r.replica === 'b')!;
    expect(takeover.at).toBe(300 + 1000); // a period after a's last run ended
    expect([...a.logger.of('warn'), ...b.logger.of('warn')]).toContainEqual(
      expect.stringMatching(/stuck still running/),
    );
  });

  it('trigger() of a leader-only loop on a follower runs it once on the leader, not here', async () => {
    await replica('a');
    const b = await replica('b');
    await clock.advance('3s');
    const before = runs.length;
    await clock.runUntil(registryOf(b).trigger('work'));
    expect(runs.filter((r) => r.replica === 'b')).toEqual([]);
    // The trigger's run, and maybe a run of the loop's own cadence meanwhile.
    expect(runs.length - before).toBeGreaterThanOrEqual(1);
    expect(runs.slice(before).every((r) => r.replica === 'a')).toBe(true);
  });

  it('LeaderElector is injectable: null without leaderElection', async () => {
    const plain = await boot({ providers: [] }, {}, { clock });
    apps.push(plain);
    expect(plain.app.get(LeaderElector, { strict: false })).toBeNull();
  });

  it('leaderOnly without leaderElection fails bootstrap naming the method; add() throws', async () => {
    @Injectable()
    class Lonely {
      @Until('1s', { leaderOnly: true })
      tick() {}
    }
    const booted = await boot({ providers: [Lonely] }, {}, { clock, init: false });
    await expect(booted.app.init()).rejects.toThrow(
      /@Until\(\) on Lonely.tick: leaderOnly needs WaitModule's leaderElection option/,
    );
    const plain = await boot({ providers: [] }, {}, { clock });
    apps.push(plain);
    expect(() =>
      registryOf(plain).add('x', () => undefined, { period: 1000, leaderOnly: true }),
    ).toThrow(/PollingRegistry.add\(\): leaderOnly needs WaitModule's leaderElection option/);
  });

  it.each([
    [{ name: 'gc', leaseDuration: '1s', renewDeadline: '1s' }, /leaseDuration > renewDeadline/],
    [{ name: 'gc', leaseDurtion: '1s' }, /unknown option "leaseDurtion"/],
    [{ name: '' }, /leaderElection.name/],
    [{ name: 'gc', retryPeriod: 'soon' }, /leaderElection.retryPeriod/],
  ])('WaitModule.forRoot() rejects leaderElection %j', (leaderElection, message) => {
    expect(() => WaitModule.forRoot({ leaderElection })).toThrow(message);
    expect(() => WaitModule.forRoot({ leaderElection })).toThrow(/WaitModule.forRoot\(\)/);
  });
});
