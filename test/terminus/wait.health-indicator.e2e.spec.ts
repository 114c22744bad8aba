import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import {
  InMemoryLeaseStore,
  PollingRegistry,
  Until,
  type LoopContext,
  type WaitModuleOptions,
} from '../../lib/index.js';
import { WaitHealthIndicator, type LoopHealth } from '../../lib/terminus/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { boot, close, deferred, type Booted } from '../polling/support.js';

/* The Terminus health indicator over a booted app's loops, on FakeClock. */

let booted: Booted;
let clock: FakeClock;
let fail = false;
let hold: { promise: Promise<void>; resolve: () => void } | undefined;

@Injectable()
class Worker {
  @Until('1m', { name: 'gc' })
  async gc({ signal }: LoopContext) {
    if (hold !== undefined) await hold.promise;
    if (signal.aborted) return;
    if (fail) throw new Error('runtime is down');
  }

  @Until('10m', { name: 'report', initialDelay: '5m' })
  report() {}
}

async function start(
  providers: unknown[] = [],
  imports: unknown[] = [],
  options: WaitModuleOptions = {},
): Promise<void> {
  clock ??= new FakeClock(0);
  booted = await boot(
    {
      imports: [TerminusModule, ...(imports as never[])],
      providers: [Worker, WaitHealthIndicator, ...(providers as never[])],
    },
    options,
    { clock },
  );
  await clock.flush();
}

function indicator(): WaitHealthIndicator {
  return booted.app.get(WaitHealthIndicator);
}

function loopHealth(name: string): LoopHealth | undefined {
  const { loops } = indicator().isHealthy().loops as unknown as {
    loops: Record<string, LoopHealth>;
  };
  return loops[name];
}

beforeEach(() => {
  clock = undefined as unknown as FakeClock;
  fail = false;
  hold = undefined;
});

afterEach(async () => {
  hold?.resolve();
  await close(booted);
});

describe('WaitHealthIndicator', () => {
  it('is up with every loop, its state and counters, under the key "loops"', async () => {
    await start();
    await clock.advance('2m');
    expect(indicator().isHealthy()).toEqual({
      loops: {
        status: 'up',
        loops: {
          gc: {
            state: 'running',
            healthy: true,
            iterations: 3,
            consecutiveFailures: 0,
            inFlight: false,
            lastSucceededAt: new Date(120_000).toISOString(),
          },
          report: {
            state: 'running',
            healthy: true,
            iterations: 0,
            consecutiveFailures: 0,
            inFlight: false,
          },
        },
      },
    });
  });

  it('turns down when a running loop has had no success for more than 3 periods, and up again after one', async () => {
    await start();
    fail = true; // the last success was at 0
    await clock.advance('3m');
    expect(indicator().isHealthy().loops.status).toBe('up'); // exactly 3 periods: not more
    await clock.advance(1);
    const down = indicator().isHealthy('gc-loops');
    expect(down['gc-loops']).toMatchObject({
      status: 'down',
      message: 'loop "gc" not healthy',
      loops: {
        gc: {
          healthy: false,
          consecutiveFailures: 3,
          reason: 'no successful run for 180001 ms (allowed: 180000 ms)',
        },
        report: { healthy: true },
      },
    });
    fail = false;
    await clock.advance('1m');
    expect(indicator().isHealthy().loops.status).toBe('up');
  });

  it('turns down when a run has been in flight longer than the allowance, saying so', async () => {
    await start();
    await clock.advance('1m'); // run 2 succeeds at 1m
    hold = deferred();
    await clock.advance('1m'); // run 3 starts at 2m and hangs
    await clock.advance(120_001);
    expect(indicator().isHealthy().loops).toMatchObject({
      status: 'down',
      loops: {
        gc: { inFlight: true, reason: 'no successful run for 180001 ms (allowed: 180000 ms)' },
      },
    });
    await clock.advance('1m');
    expect(indicator().isHealthy().loops).toMatchObject({
      status: 'down',
      loops: {
        gc: {
          inFlight: true,
          reason: 'a run has been in flight for 180001 ms (allowed: 180000 ms)',
        },
      },
    });
  });

  it('allows the initial delay on top until the first success after a start', async () => {
    await start();
    const registry = booted.app.get(PollingRegistry);
    registry.add(
      'late',
      () => {
        throw new Error('never works');
      },
      { period: '1m', initialDelay: '10m' },
    );
    await clock.advance('13m'); // first run at 10m failed; 3 periods + 10m allowed
    expect(loopHealth('late')).toMatchObject({ healthy: true });
    await clock.advance(1);
    expect(loopHealth('late')).toMatchObject({
      healthy: false,
      reason: 'no successful run for 780001 ms (allowed: 780000 ms)',
    });
    // A restart counts from itself, with the initial delay again.
    await registry.stop('late');
    void registry.start('late');
    await clock.advance('13m');
    expect(loopHealth('late')).toMatchObject({ healthy: true });
  });

  it('takes the number of periods from the options', async () => {
    await start();
    fail = true;
    await clock.advance(60_001); // last success at 0
    expect(indicator().isHealthy('loops', { periods: 1 }).loops.status).toBe('down');
    expect(indicator().isHealthy('loops', { periods: 1.5 }).loops.status).toBe('up');
  });

  it('reports stopped loops as up (they were stopped on purpose)', async () => {
    await start();
    fail = true;
    await booted.app.get(PollingRegistry).stop('gc');
    await clock.advance('10m');
    expect(indicator().isHealthy().loops).toMatchObject({
      status: 'up',
      loops: { gc: { state: 'stopped', healthy: true } },
    });
  });

  it('makes HealthCheckService answer 503 when down', async () => {
    await start();
    const health = booted.app.get(HealthCheckService);
    await expect(health.check([() => indicator().isHealthy()])).resolves.toMatchObject({
      status: 'ok',
    });
    fail = true;
    await clock.advance('4m');
    await expect(health.check([() => indicator().isHealthy()])).rejects.toBeInstanceOf(
      ServiceUnavailableException,
    );
  });

  it('reports the identity, role and leader with leader election', async () => {
    clock = new FakeClock(0);
    const store = new InMemoryLeaseStore(clock);
    const other = await store.acquire('gc-lease', 'pod-a', 60_000);
    if (!other.acquired) throw new Error('not acquired');
    const leaderElection = { store, name: 'gc-lease', identity: 'pod-b' };
    await start([], [], { leaderElection });
    expect(indicator().isHealthy().loops).toMatchObject({
      identity: 'pod-b',
      role: 'follower',
      leader: 'pod-a',
    });
    await store.release('gc-lease', other.lease); // announced: pod-b takes over at once
    await clock.flush();
    expect(indicator().isHealthy().loops).toMatchObject({ role: 'leader', leader: 'pod-b' });
  });

  it('rejects a bad key or number of periods, naming the value', async () => {
    await start();
    expect(() => indicator().isHealthy('')).toThrow('key must be a non-empty string; got ""');
    for (const periods of [0, -1, NaN, Infinity]) {
      expect(() => indicator().isHealthy('loops', { periods })).toThrow(RangeError);
    }
    expect(() => indicator().isHealthy('loops', { periods: 0 })).toThrow(
      'periods must be a finite number > 0; got 0',
    );
  });
});

describe('WaitHealthIndicator over a follower registry', () => {
  it('treats loops standing by as up, however long they have not run', async () => {
    const follower = new FakeClock(0);
    const registry = new PollingRegistry({
      clock: follower,
      leaderElection: { name: 'gc-lease', identity: 'pod-b' },
    });
    registry.add('gc', () => undefined, { period: '1m' });
    // Started, but its elector not: a follower that has not yet seen the leader.
    void registry.start('gc');
    await follower.advance('10m');
    expect(registry.get('gc').state).toBe('standby');
    const leadership = registry.elector!;
    const health = new WaitHealthIndicator(registry, new HealthIndicatorService(), leadership);
    expect(health.isHealthy()).toEqual({
      loops: {
        status: 'up',
        identity: 'pod-b',
        role: 'follower',
        leader: null,
        loops: {
          gc: {
            state: 'standby',
            healthy: true,
            iterations: 0,
            consecutiveFailures: 0,
            inFlight: false,
          },
        },
      },
    });
  });
});
