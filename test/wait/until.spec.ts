/*
 * The loop functions: until, nonSlidingUntil, jitterUntil, backoffUntil, forever.
 *
 * Ported from kubernetes/apimachinery pkg/util/wait (cases read there, code our own):
 * - wait_test.go TestUntil, TestUntilWithContext        -> 'until' describe: already stopped, stops
 * - wait_test.go TestNonSlidingUntil(+WithContext)       -> 'nonSlidingUntil' describe
 * - wait_test.go TestUntilReturnsImmediately             -> 'a run that aborts its own signal'
 * - wait_test.go TestJitterUntil(+WithContext)           -> 'jitterUntil' describe
 * - wait_test.go TestJitterUntilReturnsImmediately       -> 'jitterUntil' abort during a 30 s wait
 * - wait_test.go TestJitterUntilRecoversPanic            -> 'errors': onError keeps the loop going
 * - wait_test.go TestJitterUntilNegativeFactor           -> 'jitterUntil' negative factor
 * - wait_test.go TestJitterBackoffManagerWithRealClock,
 *   TestExponentialBackoffManagerWithRealClock            -> 'backoffUntil' describe (FakeClock)
 */
import { jest } from '@jest/globals';
import {
  backoffUntil,
  exponentialBackoffManager,
  forever,
  jitterUntil,
  jitteredBackoffManager,
  nonSlidingUntil,
  until,
  type Clock,
  type LoopContext,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { configured, ManualClock, sleep, track } from '../support/helpers.js';

describe('until', () => {
  it('hands each run a plain context: { ...ctx } keeps signal and iteration', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const copies: LoopContext[] = [];
    const done = until((ctx) => void copies.push({ ...ctx }), 10, ac.signal, { clock });
    await clock.advance(10);
    expect(copies).toEqual([
      { signal: ac.signal, iteration: 1 },
      { signal: ac.signal, iteration: 2 },
    ]);
    ac.abort();
    await done;
  });

  it('never calls fn when the signal has already aborted, and resolves', async () => {
    const clock = new FakeClock();
    const fn = jest.fn();
    await until(fn, 0, AbortSignal.abort(), { clock });
    await clock.advance(1000);
    expect(fn).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs at once, but not inside the caller', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const fn = jest.fn();
    const done = until(fn, '1h', ac.signal, { clock });
    expect(fn).not.toHaveBeenCalled();
    await clock.flush();
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.now()).toBe(0);
    ac.abort();
    await done;
  });

  it('is sliding: each wait starts when the run settles', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const starts: number[] = [];
    const done = until(
      async () => {
        starts.push(clock.now());
        await sleep(clock, 30);
      },
      100,
      ac.signal,
      { clock },
    );
    await clock.advance(400);
    ac.abort();
    await clock.advance(30);
    await done;
    expect(starts).toEqual([0, 130, 260, 390]);
  });

  it('passes the stop signal and a 1-based iteration to each run', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const contexts: LoopContext[] = [];
    const done = until((ctx) => void contexts.push(ctx), 10, ac.signal, { clock });
    await clock.advance(20);
    ac.abort();
    await done;
    expect(contexts.map((c) => c.iteration)).toEqual([1, 2, 3]);
    expect(contexts.every((c) => c.signal === ac.signal)).toBe(true);
  });

  it('stops: no run after the abort, and the promise resolves', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const fn = jest.fn();
    const done = track(until(fn, 10, ac.signal, { clock }));
    await clock.advance(25);
    expect(fn).toHaveBeenCalledTimes(3);
    ac.abort();
    await clock.flush();
    expect(done.settled).toBe(true);
    expect(done.rejected).toBe(false);
    await clock.advance(100);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(clock.pendingTimers).toBe(0);
  });

  it('settles only after the run in flight settles; the run sees its signal abort', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    let seenAbort = false;
    const fn = jest.fn(async ({ signal }: LoopContext) => {
      await sleep(clock, 50);
      seenAbort = signal.aborted;
    });
    const done = track(until(fn, 10, ac.signal, { clock }));
    await clock.advance(20);
    ac.abort();
    await clock.advance(29);
    expect(done.settled).toBe(false);
    await clock.advance(1);
    expect(done.settled).toBe(true);
    expect(seenAbort).toBe(true);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('never overlaps two runs, even when a run outlasts many periods', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    let inFlight = 0;
    let maxInFlight = 0;
    const done = until(
      async () => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await sleep(clock, 55);
        inFlight--;
      },
      1,
      ac.signal,
      { clock },
    );
    await clock.advance(1000);
    ac.abort();
    await clock.advance(100);
    await done;
    expect(maxInFlight).toBe(1);
  });

  it('an abort between a run settling and its next wait being queued leaves no timer', async () => {
    // The run's next wait is queued once per burst of settles (one clock read for all); an abort
    // in between must drop it.
    const clock = new FakeClock();
    const ac = new AbortController();
    const fn = jest.fn();
    const done = until(fn, 10, ac.signal, { clock });
    void Promise.resolve().then(() => ac.abort());
    await done;
    await clock.flush();
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(0);
  });

  describe('a run that aborts its own signal (TestUntilReturnsImmediately)', () => {
    it('runs exactly once and settles without waiting out the 30 s period', async () => {
      const clock = new FakeClock();
      const ac = new AbortController();
      const fn = jest.fn(() => ac.abort());
      const done = track(until(fn, '30s', ac.signal, { clock }));
      await clock.flush();
      expect(done.settled).toBe(true);
      expect(fn).toHaveBeenCalledTimes(1);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('errors', () => {
    const throwers: Array<[string, unknown]> = [
      ['an Error', new Error('boom')],
      ['a string', 'boom'],
      ['undefined', undefined],
      ['null', null],
    ];

    it.each(throwers)(
      'without onError, a thrown %s ends the loop and rejects with it',
      async (_, thrown) => {
        const clock = new FakeClock();
        const fn = jest.fn(() => {
          if (fn.mock.calls.length === 2) throw thrown;
        });
        const done = track(until(fn, 10, new AbortController().signal, { clock }));
        await clock.advance(100);
        expect(done.rejected).toBe(true);
        expect(done.error).toBe(thrown);
        expect(fn).toHaveBeenCalledTimes(2);
        expect(clock.pendingTimers).toBe(0);
      },
    );

    it.each(throwers)(
      'without onError, a rejected %s ends the loop and rejects with it',
      async (_, thrown) => {
        const clock = new FakeClock();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- non-Errors on purpose
        const fn = jest.fn(() => Promise.reject(thrown));
        const done = track(until(fn, 10, new AbortController().signal, { clock }));
        await clock.advance(100);
        expect(done.rejected).toBe(true);
        expect(done.error).toBe(thrown);
        expect(fn).toHaveBeenCalledTimes(1);
      },
    );

    it('with onError, the loop hands each error over and goes on (TestJitterUntilRecoversPanic)', async () => {
      const clock = new FakeClock();
      const ac = new AbortController();
      const errors: unknown[] = [];
      let calls = 0;
      const done = jitterUntil(
        () => {
          calls++;
          if (calls <= 2) throw new Error(`panic ${calls}`);
          ac.abort();
        },
        1,
        1.0,
        true,
        ac.signal,
        { clock, onError: (e) => errors.push(e), random: () => 0 },
      );
      await clock.advance(10);
      await done;
      expect(calls).toBe(3);
      expect(errors.map((e) => (e as Error).message)).toEqual(['panic 1', 'panic 2']);
    });

    it('with onError, async rejections are handed over too', async () => {
      const clock = new FakeClock();
      const ac = new AbortController();
      const onError = jest.fn();
      const done = until(() => Promise.reject(new Error('nope')), 10, ac.signal, {
        clock,
        onError,
      });
      await clock.advance(25);
      ac.abort();
      await done;
      expect(onError).toHaveBeenCalledTimes(3);
    });

    it('an error thrown by onError ends the loop and rejects with it', async () => {
      const clock = new FakeClock();
      const fatal = new Error('fatal');
      const done = track(
        until(
          () => {
            throw new Error('first');
          },
          10,
          new AbortController().signal,
          {
            clock,
            onError: () => {
              throw fatal;
            },
          },
        ),
      );
      await clock.advance(50);
      expect(done.error).toBe(fatal);
      expect(clock.pendingTimers).toBe(0);
    });

    it('a thenable whose then() throws counts as a failed run', async () => {
      const clock = new FakeClock();
      const broken = new Error('then');
      const thenable = {
        then() {
          throw broken;
        },
      };
      const done = track(until(() => thenable, 10, new AbortController().signal, { clock }));
      await clock.advance(0);
      expect(done.error).toBe(broken);
    });
  });

  describe('bad input is rejected at the call, naming it and the value', () => {
    const signal = new AbortController().signal;
    it.each([
      [() => until(() => {}, -1, signal), RangeError, /until\(\).*period.*-1/],
      [() => until(() => {}, Number.NaN, signal), RangeError, /until\(\).*NaN/],
      [() => until(() => {}, Infinity, signal), RangeError, /until\(\).*Infinity/],
      [() => until(() => {}, configured('soon'), signal), TypeError, /until\(\).*"soon"/],
      [() => until(() => {}, configured('5'), signal), TypeError, /until\(\).*"5"/],
      [() => until('fn' as never, 10, signal), TypeError, /until\(\).*fn.*"fn"/],
      [() => until(() => {}, 10, {} as AbortSignal), TypeError, /until\(\).*AbortSignal/],
      [() => until(() => {}, 10, signal, { clock: {} as Clock }), TypeError, /until\(\).*clock/],
      [() => until(() => {}, 10, signal, { onError: 1 as never }), TypeError, /onError.*1/],
      [() => nonSlidingUntil(() => {}, -5, signal), RangeError, /nonSlidingUntil\(\).*-5/],
      [
        () => jitterUntil(() => {}, 10, Number.NaN, true, signal),
        RangeError,
        /jitterUntil\(\).*jitterFactor.*NaN/,
      ],
      [
        () => jitterUntil(() => {}, 10, Infinity, true, signal),
        RangeError,
        /jitterUntil\(\).*Infinity/,
      ],
      [() => forever(() => {}, configured('1x')), TypeError, /forever\(\).*"1x"/],
      [
        () => backoffUntil(() => {}, {} as never, true, signal),
        TypeError,
        /backoffUntil\(\).*BackoffManager/,
      ],
    ])('%#', (call, type, message) => {
      expect(call).toThrow(type);
      expect(call).toThrow(message);
    });
  });
});

describe('nonSlidingUntil', () => {
  it('never calls fn when already stopped', async () => {
    const fn = jest.fn();
    const clock = new FakeClock();
    await nonSlidingUntil(fn, 0, AbortSignal.abort(), { clock });
    expect(fn).not.toHaveBeenCalled();
  });

  it('counts the run inside the period: starts at 0, 100, 200 for 30 ms runs', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const starts: number[] = [];
    const done = nonSlidingUntil(
      async () => {
        starts.push(clock.now());
        await sleep(clock, 30);
      },
      100,
      ac.signal,
      { clock },
    );
    await clock.advance(350);
    ac.abort();
    await done;
    expect(starts).toEqual([0, 100, 200, 300]);
  });

  it('starts the next run as soon as a run longer than the period settles', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const starts: number[] = [];
    const done = nonSlidingUntil(
      async () => {
        starts.push(clock.now());
        await sleep(clock, 150);
      },
      100,
      ac.signal,
      { clock },
    );
    await clock.advance(500);
    ac.abort();
    await clock.advance(150);
    await done;
    expect(starts).toEqual([0, 150, 300, 450]);
  });

  it('after a run that overran its period, counts the next period from the late start, as Go', async () => {
    // Go starts a non-sliding timer when a run starts: period 100, runs of 150 then 10 start at
    // 0, 150, 250 (not 0, 150, 200: an overrun is not timer lateness to make up for).
    const clock = new FakeClock();
    const ac = new AbortController();
    const starts: number[] = [];
    const durations = [150, 10, 10];
    const done = nonSlidingUntil(
      async () => {
        starts.push(clock.now());
        await sleep(clock, durations.shift() ?? 10);
      },
      100,
      ac.signal,
      { clock },
    );
    await clock.advance(360);
    ac.abort();
    await clock.advance(10);
    await done;
    expect(starts).toEqual([0, 150, 250, 350]);
  });

  it('after a synchronous run that overran its period, the same holds', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const starts: number[] = [];
    const done = nonSlidingUntil(
      () => {
        starts.push(clock.now());
        if (starts.length === 2) clock.now_ += 150; // this run "takes" 150 ms
      },
      100,
      ac.signal,
      { clock },
    );
    await Promise.resolve(); // the first run
    for (let i = 0; i < 3; i++) clock.fireNext();
    ac.abort();
    await done;
    expect(starts).toEqual([0, 100, 250, 350]);
  });

  it('keeps cadence against absolute targets when every timer fires late', async () => {
    // Each timer fires 0.3 ms late, as Node's do; relative scheduling would drift 300 ms over
    // 1,000 runs of 10 ms. Absolute targets keep every start within one period of start + n * p.
    const fake = new FakeClock();
    const late: Clock = {
      now: () => fake.now(),
      setTimeout: (fn, ms) => fake.setTimeout(fn, ms + 0.3),
      clearTimeout: (h) => fake.clearTimeout(h),
    };
    const ac = new AbortController();
    const starts: number[] = [];
    const done = nonSlidingUntil(() => void starts.push(fake.now()), 10, ac.signal, {
      clock: late,
    });
    while (starts.length < 1000) await fake.runNext();
    ac.abort();
    await done;
    const worst = Math.max(...starts.map((start, n) => Math.abs(start - n * 10)));
    expect(worst).toBeLessThan(10);
  });
});

describe('jitterUntil', () => {
  it('never calls fn when already stopped', async () => {
    const fn = jest.fn();
    await jitterUntil(fn, 0, 1.0, true, AbortSignal.abort(), { clock: new FakeClock() });
    expect(fn).not.toHaveBeenCalled();
  });

  it('draws each wait from [period, period * (1 + factor))', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const starts: number[] = [];
    const randoms = [0.5, 0, 0.999];
    const done = jitterUntil(() => void starts.push(clock.now()), 100, 0.2, true, ac.signal, {
      clock,
      random: () => randoms.shift() ?? 0,
    });
    await clock.advance(400);
    ac.abort();
    await done;
    expect(starts[1]).toBeCloseTo(110);
    expect(starts[2]).toBeCloseTo(210);
    expect(starts[3]).toBeCloseTo(329.98);
  });

  it('takes a factor <= 0 as no jitter at all (TestJitterUntilNegativeFactor)', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const random = jest.fn(() => 0.9);
    const starts: number[] = [];
    const done = jitterUntil(() => void starts.push(clock.now()), '1s', -30, true, ac.signal, {
      clock,
      random,
    });
    await clock.advance(2000);
    ac.abort();
    await done;
    expect(starts).toEqual([0, 1000, 2000]);
    expect(random).not.toHaveBeenCalled();
  });

  it('non-sliding with jitter keeps absolute targets', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const starts: number[] = [];
    const done = jitterUntil(
      async () => {
        starts.push(clock.now());
        await sleep(clock, 40);
      },
      100,
      0.5,
      false,
      ac.signal,
      { clock, random: () => 0.2 },
    );
    await clock.advance(400);
    ac.abort();
    await clock.advance(40);
    await done;
    expect(starts).toEqual([0, 110, 220, 330]);
  });

  it('settles at once when aborted during a 30 s wait, leaving no timer (TestJitterUntilReturnsImmediately)', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const done = track(jitterUntil(() => {}, '30s', 1.0, true, ac.signal, { clock }));
    await clock.advance(1);
    expect(clock.pendingTimers).toBe(1);
    ac.abort();
    await clock.flush();
    expect(done.settled).toBe(true);
    expect(clock.now()).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('backoffUntil', () => {
  it('sliding: waits come from the manager after each run (exponential 1, 2, 4, 8, 10, 10)', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const starts: number[] = [];
    const manager = exponentialBackoffManager({
      initial: 1,
      max: 10,
      resetAfter: '1h',
      factor: 2,
      clock,
    });
    const done = backoffUntil(() => void starts.push(clock.now()), manager, true, ac.signal, {
      clock,
    });
    await clock.advance(35);
    ac.abort();
    await done;
    expect(starts).toEqual([0, 1, 3, 7, 15, 25, 35]);
  });

  it('non-sliding: asks the manager before the run; sliding: after it', async () => {
    for (const sliding of [false, true]) {
      const clock = new FakeClock();
      const ac = new AbortController();
      const events: string[] = [];
      const manager = {
        backoff: () => {
          events.push('backoff');
          return 10;
        },
      };
      const done = backoffUntil(() => void events.push('run'), manager, sliding, ac.signal, {
        clock,
      });
      await clock.advance(10);
      ac.abort();
      await done;
      expect(events).toEqual(
        sliding ? ['run', 'backoff', 'run', 'backoff'] : ['backoff', 'run', 'backoff', 'run'],
      );
    }
  });

  it('a jittered manager gives waits of at least its duration', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const starts: number[] = [];
    const manager = jitteredBackoffManager(1, 0, { clock });
    const done = backoffUntil(() => void starts.push(clock.now()), manager, true, ac.signal, {
      clock,
    });
    await clock.advance(5);
    ac.abort();
    await done;
    expect(starts).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a manager that returns a bad wait ends the loop with a RangeError naming backoffUntil()', async () => {
    const clock = new FakeClock();
    const done = track(
      backoffUntil(() => {}, { backoff: () => Number.NaN }, true, new AbortController().signal, {
        clock,
      }),
    );
    await clock.advance(0);
    expect(done.error).toBeInstanceOf(RangeError);
    expect(String(done.error)).toMatch(/backoffUntil\(\).*NaN/);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('forever', () => {
  it('runs until an error ends it, then rejects with that error', async () => {
    const clock = new FakeClock();
    const boom = new Error('boom');
    let calls = 0;
    const done = track(
      forever(
        () => {
          if (++calls === 5) throw boom;
        },
        '1s',
        { clock },
      ),
    );
    await clock.advance('10s');
    expect(calls).toBe(5);
    expect(done.error).toBe(boom);
  });
});

describe('the synchronous path', () => {
  it('allocates no promise, AbortController or listener per run', async () => {
    // Timers fire synchronously, by hand, so that only engine code runs in the counted window.
    const manual = new ManualClock();
    const ac = new AbortController();
    let runs = 0;
    const done = until(() => void runs++, 10, ac.signal, { clock: manual });
    await Promise.resolve();
    await Promise.resolve();
    expect(runs).toBe(1);

    const then = jest.spyOn(Promise.prototype, 'then');
    const listen = jest.spyOn(EventTarget.prototype, 'addEventListener');
    const RealPromise = globalThis.Promise;
    const RealAbortController = globalThis.AbortController;
    let constructed = 0;
    const count = <T extends object>(target: T): T =>
      new Proxy(target, {
        construct(t, args) {
          constructed++;
          return Reflect.construct(t as never, args);
        },
      });
    globalThis.Promise = count(RealPromise);
    globalThis.AbortController = count(RealAbortController);
    try {
      for (let i = 0; i < 100; i++) manual.fireNext();
    } finally {
      globalThis.Promise = RealPromise;
      globalThis.AbortController = RealAbortController;
    }
    expect(runs).toBe(101);
    expect(constructed).toBe(0);
    expect(then).not.toHaveBeenCalled();
    expect(listen).not.toHaveBeenCalled();
    then.mockRestore();
    listen.mockRestore();
    ac.abort();
    await done;
  });
});
