import { Injectable } from '@nestjs/common';
import fc from 'fast-check';
import { FakeClock } from '../../lib/testing/index.js';
import { PollingRegistry, RunTimeoutError, Until, type LoopContext } from '../../lib/index.js';
import { boot, close, RunLog, type Booted } from './support.js';

/* A run's timeout (`timeout` in @Until, add, overrides and update), on FakeClock. */

let clock: FakeClock;
let log: RunLog;
let booted: Booted | undefined;
beforeEach(() => {
  clock = new FakeClock();
  log = new RunLog(clock);
  booted = undefined;
});
afterEach(async () => {
  if (booted !== undefined) await close(booted);
  expect(clock.pendingTimers).toBe(0);
});

/** Resolves when `signal` aborts, or after `ms` on the clock: a run that honours its signal. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clock.clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}

const signals: AbortSignal[] = [];

@Injectable()
class Slow {
  /** How long each run takes, by iteration; runs ignoring their signal take this long anyway. */
  static takes: number[] = [];
  static honourSignal = true;
  @Until('1m', { timeout: '30s' })
  async tick({ signal, iteration }: LoopContext) {
    signals.push(signal);
    log.begin();
    try {
      const ms = Slow.takes[iteration - 1] ?? 1000;
      if (Slow.honourSignal) await sleep(ms, signal);
      else await new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
    } finally {
      log.end();
    }
  }
}

beforeEach(() => {
  signals.length = 0;
  Slow.takes = [];
  Slow.honourSignal = true;
});

it('past its timeout a run has its signal aborted and fails with RunTimeoutError; the loop goes on', async () => {
  Slow.takes = [1000, 50_000, 1000];
  booted = await boot({ providers: [Slow] }, {}, { clock });
  const registry = booted.app.get(PollingRegistry);
  await clock.advance('61s'); // run 1: 0-1s; run 2 from 61s
  await clock.advance('30s');
  expect(signals[1].aborted).toBe(true);
  const reason = signals[1].reason as RunTimeoutError;
  expect(reason).toBeInstanceOf(RunTimeoutError);
  expect(reason).toMatchObject({ name: 'RunTimeoutError', loop: 'Slow.tick', timeout: 30_000 });
  expect(reason.message).toBe(
    'Loop Slow.tick: the run took longer than its timeout of 30000 ms; its ctx.signal was aborted',
  );
  const status = registry.get('Slow.tick');
  expect(status).toMatchObject({ failures: 1, consecutiveFailures: 1, lastError: reason });
  expect(booted.logger.of('warn')).toEqual([
    'Loop Slow.tick passed its timeout of 30000 ms: its ctx.signal is aborted; the run counts as failed, and the next one waits until it settles',
  ]);
  expect(booted.logger.of('error')).toEqual(['Loop Slow.tick failed (once)']);
  await clock.advance('61s');
  // The next run a period after the timed-out one settled (sliding); it has a signal of its own.
  expect(log.starts).toEqual([0, 61_000, 151_000]);
  expect(signals[2].aborted).toBe(false);
  expect(registry.get('Slow.tick').consecutiveFailures).toBe(0);
});

it('a run within its timeout is untouched, and leaves no timer behind', async () => {
  Slow.takes = [29_999];
  booted = await boot({ providers: [Slow] }, {}, { clock });
  await clock.advance('30s');
  expect(signals[0].aborted).toBe(false);
  expect(booted.app.get(PollingRegistry).get('Slow.tick').failures).toBe(0);
  expect(clock.pendingTimers).toBe(1); // the loop's own wait, on the shared timer
});

it('a run that ignores its signal is waited for (no overlap) and fails when it settles, even if it resolves', async () => {
  Slow.takes = [45_000];
  Slow.honourSignal = false;
  booted = await boot({ providers: [Slow] }, {}, { clock });
  const registry = booted.app.get(PollingRegistry);
  await clock.advance('30s');
  expect(booted.logger.of('warn')).toHaveLength(1); // told at the timeout
  expect(registry.get('Slow.tick')).toMatchObject({ inFlight: true, failures: 0 });
  await clock.advance('15s');
  expect(registry.get('Slow.tick')).toMatchObject({ inFlight: false, failures: 1 });
  expect(registry.get('Slow.tick').lastError).toBeInstanceOf(RunTimeoutError);
  await clock.advance('61s');
  expect(log.starts).toEqual([0, 105_000]);
  expect(log.maxRunning).toBe(1);
});

it('with a backoff, a timed-out run waits the backoff; its own error is kept as the cause', async () => {
  @Injectable()
  class Hanging {
    @Until('1h', { timeout: '10s', backoff: { initial: '5s', max: '1m' } })
    async tick({ signal }: LoopContext) {
      log.begin();
      try {
        await sleep(60_000, signal);
      } catch {
        throw new Error('query cancelled'); // what a driver might say when its signal aborts
      } finally {
        log.end();
      }
    }
  }
  booted = await boot({ providers: [Hanging] }, {}, { clock });
  await clock.advance('40s');
  expect(log.starts).toEqual([0, 15_000, 35_000]); // 10s run + 5s, 10s run + 10s
  const error = booted.app.get(PollingRegistry).get('Hanging.tick').lastError as RunTimeoutError;
  expect(error).toBeInstanceOf(RunTimeoutError);
  expect((error.cause as Error).message).toBe('query cancelled');
});

it('a stop during a timed run is a stop, not a failure', async () => {
  Slow.takes = [20_000];
  booted = await boot({ providers: [Slow] }, {}, { clock });
  const registry = booted.app.get(PollingRegistry);
  await clock.advance('5s');
  await registry.stop('Slow.tick');
  expect(signals[0].aborted).toBe(true);
  expect(signals[0].reason).not.toBeInstanceOf(RunTimeoutError);
  expect(registry.get('Slow.tick').failures).toBe(0);
  await clock.advance('60s');
  expect(booted.logger.of('warn')).toEqual([]);
});

it('timeout in add(), in a loops override, and changed or removed by update()', async () => {
  Slow.takes = [5000];
  booted = await boot(
    { providers: [Slow] },
    { loops: { 'Slow.tick': { timeout: '2s' } } },
    { clock },
  );
  const registry = booted.app.get(PollingRegistry);
  await clock.advance('2s');
  expect(registry.get('Slow.tick').failures).toBe(1); // the override's 2 s, not 30 s
  const added: AbortSignal[] = [];
  registry.add(
    'added',
    ({ signal }) => {
      added.push(signal);
      return sleep(5000, signal);
    },
    { period: '10s', timeout: '1s' },
  );
  await clock.advance('1s');
  expect(added[0].reason).toBeInstanceOf(RunTimeoutError);
  void registry.update('added', { timeout: '10s' });
  await clock.advance('20s'); // run 2 at 11 s takes 5 s: within 10 s
  expect(registry.get('added')).toMatchObject({ iterations: 2, failures: 1 });
  void registry.update('added', { timeout: null, period: '1s' });
  await clock.advance('1s');
  expect(registry.get('added')).toMatchObject({ iterations: 3, failures: 1 });
});

it('a bad timeout is refused where it was written, naming it', () => {
  const define = (timeout: unknown) => () => {
    class Job {
      @Until('1m', { timeout: timeout as string })
      tick() {}
    }
    return Job;
  };
  expect(define(0)).toThrow(
    '@Until() on Job.tick: timeout must be more than 0 ms (a run that awaits anything takes longer); leave it out for no timeout',
  );
  expect(define('-1s')).toThrow(
    '@Until() on Job.tick: timeout must be a finite duration >= 0; got "-1s"',
  );
  expect(define('soon')).toThrow('@Until() on Job.tick: timeout "soon" is not a duration');
  expect(define(NaN)).toThrow('@Until() on Job.tick: timeout must be a finite duration >= 0');
});

it('property: runs never overlap, a run fails exactly when it passes its timeout, and stop always settles', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ ms: fc.integer({ min: 0, max: 300 }), honour: fc.boolean() }), {
        minLength: 1,
        maxLength: 12,
      }),
      fc.integer({ min: 1, max: 200 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 3000 }),
      async (runs, timeout, sliding, stopAt) => {
        fc.pre(runs.every((run) => run.ms !== timeout)); // a tie of two timers has no one outcome
        clock = new FakeClock();
        const local = new RunLog(clock);
        const app = await boot({ providers: [] }, {}, { clock });
        const registry = app.app.get(PollingRegistry);
        const failedRuns: number[] = [];
        registry.events$.subscribe((e) => e.type === 'failed' && failedRuns.push(e.iteration));
        registry.add(
          'random',
          async ({ signal, iteration }) => {
            const run = runs[(iteration - 1) % runs.length];
            local.begin();
            try {
              if (run.honour) await sleep(run.ms, signal);
              else await new Promise<void>((resolve) => clock.setTimeout(resolve, run.ms));
            } finally {
              local.end();
            }
          },
          { period: 50, sliding, timeout },
        );
        await clock.advance(stopAt);
        const stopped = registry.stop('random');
        await clock.runUntil(stopped);
        // Failed: every run longer than its timeout, unless the stop came first, while it ran.
        const expected = local.starts
          .map((start, i) => ({ run: runs[i % runs.length], start, iteration: i + 1 }))
          .filter(
            ({ run, start }) => run.ms > timeout && !(stopAt >= start && stopAt < start + timeout),
          )
          .map(({ iteration }) => iteration);
        expect(local.maxRunning).toBe(1);
        expect(failedRuns).toEqual(expected);
        await clock.runUntil(app.app.close());
        expect(clock.pendingTimers).toBe(0);
      },
    ),
    { numRuns: 40 },
  );
});

it("a timed run's context spreads with its own signal", async () => {
  const copies: LoopContext[] = [];
  booted = await boot({ providers: [] }, {}, { clock });
  booted.app.get(PollingRegistry).add(
    'spread',
    (ctx) => {
      copies.push({ ...ctx });
      return sleep(5000, ctx.signal);
    },
    { period: '1m', timeout: '1s' },
  );
  await clock.advance('1s');
  expect(Object.keys(copies[0])).toEqual(expect.arrayContaining(['signal', 'iteration', 'name']));
  expect(copies[0].signal.reason).toBeInstanceOf(RunTimeoutError);
});
