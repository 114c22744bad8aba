import { Injectable } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import {
  InMemoryLeaseStore,
  PollingRegistry,
  Until,
  type AcquireResult,
  type Lease,
  type LeaseStore,
  type LoopContext,
  type WaitModuleOptions,
} from '../../lib/index.js';
import { WaitHealthIndicator, type WaitHealthOptions } from '../../lib/terminus/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { boot, close, type Booted } from '../polling/support.js';

/* The options of WaitHealthIndicator.isHealthy(): requireLeader, loops, exclude; lastError. */

let booted: Booted | undefined;
let clock: FakeClock;
let failure: unknown;

@Injectable()
class Worker {
  @Until('1m', { name: 'gc' })
  gc({ signal }: LoopContext) {
    if (signal.aborted) return;
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- non-Errors on purpose
    if (failure !== undefined) throw failure;
  }

  @Until('10m', { name: 'report' })
  report() {}
}

/** A lease store whose every call fails while `down`: the server unreachable. */
class UnreachableStore implements LeaseStore {
  down = false;
  private readonly memory: InMemoryLeaseStore;

  constructor(clock: FakeClock) {
    this.memory = new InMemoryLeaseStore(clock);
  }

  acquire(name: string, identity: string, ttl: number): Promise<AcquireResult> {
    return this.reach(() => this.memory.acquire(name, identity, ttl));
  }
  renew(name: string, lease: Lease, ttl: number): Promise<boolean> {
    return this.reach(() => this.memory.renew(name, lease, ttl));
  }
  release(name: string, lease: Lease): Promise<boolean> {
    return this.reach(() => this.memory.release(name, lease));
  }

  private reach<T>(call: () => Promise<T>): Promise<T> {
    if (this.down) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    return call();
  }
}

async function start(options: WaitModuleOptions = {}): Promise<void> {
  booted = await boot(
    { imports: [TerminusModule], providers: [Worker, WaitHealthIndicator] },
    options,
    { clock },
  );
  await clock.flush();
}

/** The result's data under the key `loops`. */
function check(options?: WaitHealthOptions): Record<string, unknown> {
  return booted!.app.get(WaitHealthIndicator).isHealthy('loops', options).loops;
}

beforeEach(() => {
  clock = new FakeClock(0);
  failure = undefined;
  booted = undefined;
});

afterEach(async () => {
  if (booted !== undefined) await close(booted);
});

describe('WaitHealthIndicator.isHealthy() with requireLeader', () => {
  const lease = { name: 'gc-lease', identity: 'pod-b' };

  it('is down, saying why, while the lease store is unreachable and no leader was ever seen', async () => {
    const store = new UnreachableStore(clock);
    store.down = true;
    await start({ leaderElection: { ...lease, store } });
    await clock.advance('1m');
    // Today's behaviour by default: up, whatever leadership says.
    expect(check()).toMatchObject({ status: 'up', role: 'follower', leader: null });
    expect(check({ requireLeader: false }).status).toBe('up');
    expect(check({ requireLeader: true })).toMatchObject({
      status: 'down',
      role: 'follower',
      leader: null,
      message: 'no replica leads lease "gc-lease": leader-only loops run nowhere',
    });
    store.down = false;
    await clock.advance('5s'); // the next acquire gets through and takes the free lease
    expect(check({ requireLeader: true })).toMatchObject({ status: 'up', role: 'leader' });
  });

  it('is up on a follower that sees another replica lead', async () => {
    const store = new UnreachableStore(clock);
    await store.acquire('gc-lease', 'pod-a', 60 * 60_000);
    await start({ leaderElection: { ...lease, store } });
    await clock.advance('1m');
    expect(check({ requireLeader: true })).toMatchObject({
      status: 'up',
      role: 'follower',
      leader: 'pod-a',
    });
  });

  it('on a follower, stops trusting the leader it saw once the store has not answered for a lease duration and the longest retry wait', async () => {
    const store = new UnreachableStore(clock);
    // pod-a holds the lease (its own elector is not in this process).
    await store.acquire('gc-lease', 'pod-a', 60 * 60_000);
    await start({ leaderElection: { ...lease, store } });
    await clock.advance('1m');
    store.down = true; // from now on, nothing tells pod-b whether pod-a still renews
    // The last answer was at most 2 s x 2.2 ago; trusted for 15 s + 4.4 s after it.
    await clock.advance('15s');
    expect(check({ requireLeader: true })).toMatchObject({ status: 'up', leader: 'pod-a' });
    await clock.advance(4_400);
    expect(check({ requireLeader: true })).toMatchObject({
      status: 'down',
      role: 'follower',
      leader: 'pod-a', // the last one seen, as without the option
      message:
        'no replica is known to lead lease "gc-lease": "pod-a" was seen leading it, but the lease store has not answered for longer than a lease lasts; leader-only loops may run nowhere',
    });
    expect(check().status).toBe('up');
    store.down = false;
    await clock.advance('5s');
    expect(check({ requireLeader: true })).toMatchObject({ status: 'up', leader: 'pod-a' });
  });

  it('on the leader, turns down once it stops leading for want of renewals', async () => {
    const store = new UnreachableStore(clock);
    await start({ leaderElection: { ...lease, store } });
    expect(check({ requireLeader: true })).toMatchObject({ status: 'up', role: 'leader' });
    store.down = true;
    await clock.advance('11s'); // renew deadline 10 s
    expect(check({ requireLeader: true })).toMatchObject({
      status: 'down',
      role: 'follower',
      leader: null,
      message: 'no replica leads lease "gc-lease": leader-only loops run nowhere',
    });
  });

  it('gives the reason with those of overdue loops, leader first', async () => {
    const store = new UnreachableStore(clock);
    store.down = true;
    await start({ leaderElection: { ...lease, store } });
    booted!.app.get(PollingRegistry).add(
      'local',
      () => {
        throw new Error('disk full');
      },
      { period: '1m', leaderOnly: false },
    );
    await clock.advance('4m');
    expect(check({ requireLeader: true })).toMatchObject({
      status: 'down',
      message:
        'no replica leads lease "gc-lease": leader-only loops run nowhere; loop "local" not healthy',
      loops: { local: { healthy: false, lastError: 'Error: disk full' } },
    });
  });

  it('throws at the call without leader election, since no replica could ever lead', async () => {
    await start();
    expect(() => check({ requireLeader: true })).toThrow(
      "WaitHealthIndicator.isHealthy(): requireLeader needs WaitModule's leaderElection option; without it no replica ever leads, so the check could never be up; got requireLeader true",
    );
    expect(check({ requireLeader: false }).status).toBe('up');
  });

  it('rejects a value that is not a boolean, naming it', async () => {
    await start();
    expect(() => check({ requireLeader: 'yes' as never })).toThrow(
      new TypeError(
        'WaitHealthIndicator.isHealthy(): requireLeader must be true or false; got "yes"',
      ),
    );
  });
});

describe('WaitHealthIndicator.isHealthy() with loops or exclude', () => {
  it('with exclude, leaves the named loops out of the result and of its status', async () => {
    await start();
    failure = new Error('runtime is down');
    await clock.advance('4m');
    expect(check().status).toBe('down');
    const result = check({ exclude: ['gc'] });
    expect(result).toMatchObject({ status: 'up', loops: { report: { healthy: true } } });
    expect(Object.keys(result.loops as object)).toEqual(['report']);
    expect(result).not.toHaveProperty('unknown');
  });

  it('with loops, counts and reports only the named ones', async () => {
    await start();
    failure = new Error('runtime is down');
    await clock.advance('4m');
    const report = check({ loops: ['report'] });
    expect(report.status).toBe('up');
    expect(Object.keys(report.loops as object)).toEqual(['report']);
    expect(check({ loops: ['gc', 'report'] })).toMatchObject({
      status: 'down',
      message: 'loop "gc" not healthy',
    });
    // No loop at all is up: with requireLeader, a check of leadership alone.
    expect(check({ loops: [] })).toEqual({ status: 'up', loops: {} });
  });

  it('is down while a loop named in loops is not there, and up once it is added', async () => {
    await start();
    expect(check({ loops: ['report', 'sync', 'mail', 'sync'] })).toEqual({
      status: 'down',
      loops: { report: expect.objectContaining({ healthy: true }) as unknown },
      unknown: ['sync', 'mail'],
      message: 'no loop is named "sync" or "mail"',
    });
    const registry = booted!.app.get(PollingRegistry);
    registry.add('sync', () => undefined, { period: '1m' });
    registry.add('mail', () => undefined, { period: '1m' });
    await clock.flush();
    expect(check({ loops: ['report', 'sync', 'mail'] })).toMatchObject({
      status: 'up',
      loops: { sync: { healthy: true }, mail: { healthy: true } },
    });
    expect(check({ loops: ['report', 'sync', 'mail'] })).not.toHaveProperty('unknown');
  });

  it('only reports a name in exclude that no loop has', async () => {
    await start();
    expect(check({ exclude: ['gc', 'nightly'] })).toMatchObject({
      status: 'up',
      unknown: ['nightly'],
    });
  });

  it('refuses loops and exclude together, naming both', async () => {
    await start();
    expect(() => check({ loops: ['gc'], exclude: ['report'] })).toThrow(
      new TypeError(
        'WaitHealthIndicator.isHealthy(): give loops (only these) or exclude (all but these), not both; got loops ["gc"] and exclude ["report"]',
      ),
    );
    // undefined counts as not given.
    expect(check({ loops: undefined, exclude: ['report'] }).status).toBe('up');
  });

  it('rejects names that are not an array of strings, naming the value', async () => {
    await start();
    const bad: [WaitHealthOptions, string][] = [
      [{ loops: 'gc' as never }, 'loops must be an array of loop names (strings); got "gc"'],
      [{ exclude: null as never }, 'exclude must be an array of loop names (strings); got null'],
      [{ loops: new Set(['gc']) as never }, 'got an object (Set)'],
      [{ exclude: ['gc', 42] as never }, 'exclude[1] must be a loop name (a string); got 42'],
    ];
    for (const [options, message] of bad) {
      expect(() => check(options)).toThrow(TypeError);
      expect(() => check(options)).toThrow(`WaitHealthIndicator.isHealthy(): `);
      expect(() => check(options)).toThrow(message);
    }
  });

  it('rejects an unknown option or options that are not an object, naming them', async () => {
    await start();
    expect(() => check({ requiredLeader: true } as never)).toThrow(
      new TypeError(
        'WaitHealthIndicator.isHealthy(): unknown option "requiredLeader"; the options are periods, requireLeader, loops, exclude',
      ),
    );
    expect(() => check(null as never)).toThrow(
      new TypeError('WaitHealthIndicator.isHealthy(): options must be an object; got null'),
    );
  });
});

describe('LoopHealth.lastError', () => {
  it("is the text of the last failed run's error, kept after a success", async () => {
    await start();
    expect(check().loops).not.toHaveProperty('gc.lastError');
    failure = new TypeError('queue.pop is not a function');
    await clock.advance('1m');
    expect(check().loops).toMatchObject({
      gc: { consecutiveFailures: 1, lastError: 'TypeError: queue.pop is not a function' },
    });
    failure = undefined;
    await clock.advance('1m');
    expect(check().loops).toMatchObject({
      gc: { consecutiveFailures: 0, lastError: 'TypeError: queue.pop is not a function' },
    });
  });

  it('gives a short form of what is not an Error, and cuts a long message to 300 characters', async () => {
    await start();
    failure = 'x'.repeat(10_000);
    await clock.advance('1m');
    const { gc } = check().loops as Record<string, { lastError: string }>;
    expect(gc.lastError).toHaveLength(300);
    expect(gc.lastError).toBe(`${'x'.repeat(299)}…`);
    failure = { code: 'E_QUOTA', retryIn: 30 };
    await clock.advance('1m');
    expect(check().loops).toMatchObject({ gc: { lastError: '{"code":"E_QUOTA","retryIn":30}' } });
  });
});
