/*
 * Tests written to kill mutants of the engine that the rest of the suite let survive. Each `it`
 * names the behaviour it pins; the mutant it was written against is in the comment above it.
 */
import { getEventListeners } from 'node:events';
import { jest } from '@jest/globals';
import * as FakeTimers from '@sinonjs/fake-timers';
import {
  backoffUntil,
  nonSlidingUntil,
  parseDuration,
  poll,
  until,
  WaitTimeoutError,
  type Clock,
  type ConditionFn,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { sleep, track } from '../support/helpers.js';

// Captured before any test installs fake timers.
const realSetImmediate = globalThis.setImmediate;

/** Lets every pending promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

/**
 * A clock driven by hand: the test sets the time a timer fires at, earlier or later than asked,
 * and sees every delay the engine armed.
 */
class HandClock implements Clock {
  time = 0;
  readonly delays: number[] = [];
  private pending: (() => void) | undefined;

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    this.delays.push(ms);
    this.pending = fn;
    return fn;
  }

  clearTimeout(handle: unknown): void {
    if (handle === this.pending) this.pending = undefined;
  }

  /** Sets the time to `at` and fires the armed timer. */
  fire(at: number): void {
    const fn = this.pending;
    if (fn === undefined) throw new Error('no timer armed');
    this.pending = undefined;
    this.time = at;
    fn();
  }
}

describe('the shared timer queue', () => {
  // timer-queue.ts remove(): without siftUp / siftDown, or siftUp with a wrong parent index, the
  // heap loses its order and some loop runs late.
  it('keeps 24 loops with distinct periods on time while half of them are removed', async () => {
    const clock = new FakeClock();
    const loops = Array.from({ length: 24 }, (_, i) => ({
      period: 10 + 7 * i,
      abortAt: i % 2 === 1 ? 25.5 + 13 * i : Infinity,
      controller: new AbortController(),
      runs: [] as number[],
    }));
    const done = loops.map((loop) =>
      until(() => void loop.runs.push(clock.now()), loop.period, loop.controller.signal, {
        clock,
      }),
    );
    for (const loop of loops) {
      if (loop.abortAt !== Infinity) clock.setTimeout(() => loop.controller.abort(), loop.abortAt);
    }
    await clock.advance(400);
    for (const loop of loops) loop.controller.abort();
    await Promise.all(done);
    for (const loop of loops) {
      const expected: number[] = [];
      for (let t = 0; t <= 400 && t < loop.abortAt; t += loop.period) expected.push(t);
      expect({ period: loop.period, runs: loop.runs }).toEqual({
        period: loop.period,
        runs: expected,
      });
    }
    expect(clock.pendingTimers).toBe(0);
  });

  // remove(): the entry moved into the hole may be smaller than the hole's parent and must sift
  // up. This schedule (found by search) needs it: without, the 5 ms loop runs at 17, not 15.
  it('keeps order when a removal moves a smaller entry under a larger parent', async () => {
    const clock = new FakeClock();
    const periods = [17, 7, 13, 20, 5, 19];
    const abortAt = [26.5, Infinity, Infinity, 12.5, Infinity, Infinity];
    const controllers = periods.map(() => new AbortController());
    const runs = periods.map((): number[] => []);
    const done = periods.map((period, i) =>
      until(() => void runs[i].push(clock.now()), period, controllers[i].signal, { clock }),
    );
    abortAt.forEach((at, i) => {
      if (at !== Infinity) clock.setTimeout(() => controllers[i].abort(), at);
    });
    await clock.advance(60);
    for (const controller of controllers) controller.abort();
    await Promise.all(done);
    const expected = periods.map((period, i) => {
      const times: number[] = [];
      for (let t = 0; t <= 60 && t < abortAt[i]; t += period) times.push(t);
      return times;
    });
    expect(runs).toEqual(expected);
  });

  // runDue(): target = max(now, armedTarget). With `now` alone, a timer whose clock reads a hair
  // early runs nothing and is armed again.
  it('a timer that fires while now() reads a hair early still runs what it was armed for', async () => {
    const clock = new HandClock();
    const ac = new AbortController();
    const runs: number[] = [];
    const done = until(() => void runs.push(clock.now()), 100, ac.signal, { clock });
    await settle();
    expect(runs).toEqual([0]);
    expect(clock.delays).toEqual([100]);
    clock.fire(99.5);
    expect(runs).toEqual([0, 99.5]);
    expect(clock.delays).toEqual([100, 100]);
    ac.abort();
    await done;
  });

  // arm(): Math.max(due - now, 0). An entry overdue when the queue arms gets 0, never a negative
  // delay, whatever the Clock makes of it.
  it('never hands the clock a negative delay when an entry is overdue at arming', async () => {
    const clock = new HandClock();
    const ac = new AbortController();
    const aRuns: number[] = [];
    const bRuns: number[] = [];
    const a = until(
      () => {
        aRuns.push(clock.now());
        if (aRuns.length === 2) clock.time += 500; // this run "takes" 500 ms
      },
      100,
      ac.signal,
      { clock },
    );
    const b = until(() => void bRuns.push(clock.now()), 150, ac.signal, { clock });
    await settle();
    clock.fire(100); // a runs until 600; b (due 150) is overdue
    expect(clock.delays.at(-1)).toBe(0);
    clock.fire(600);
    expect(aRuns).toEqual([0, 100]);
    expect(bRuns).toEqual([0, 600]);
    expect(Math.min(...clock.delays)).toBeGreaterThanOrEqual(0);
    ac.abort();
    await Promise.all([a, b]);
  });

  // pushHeldBack(): entries removed while held back are skipped; without the check, a stopped
  // loop is queued again and its timer outlives it.
  it('a loop aborted between its run settling and the next microtask leaves no timer', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    let current: Promise<void> | undefined;
    let release: (() => void) | undefined;
    let runs = 0;
    const done = until(
      () => {
        runs++;
        current = new Promise<void>((resolve) => (release = resolve));
        return current;
      },
      100,
      ac.signal,
      { clock },
    );
    await clock.flush();
    expect(runs).toBe(1);
    // Registered after the engine's callback: the abort lands after the run settled and its wait
    // was held back, before that wait is queued.
    void current!.then(() => ac.abort());
    release!();
    await done;
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(1000);
    expect(runs).toBe(1);
  });
});

describe('non-sliding targets when a timer fires late', () => {
  // loop.ts fire(): a target already passed re-anchors at this run's start. Mutants: no
  // re-anchor (`this.due = next`), or runDue passing armedTarget instead of the batch's time.
  it('a timer 2.5 periods late runs once, then waits a full period (no catch-up burst)', async () => {
    const clock = new HandClock();
    const ac = new AbortController();
    const runs: number[] = [];
    const done = nonSlidingUntil(() => void runs.push(clock.now()), 100, ac.signal, { clock });
    await settle();
    expect(clock.delays).toEqual([100]);
    clock.fire(350);
    expect(runs).toEqual([0, 350]);
    expect(clock.delays).toEqual([100, 100]);
    clock.fire(450);
    expect(runs).toEqual([0, 350, 450]);
    ac.abort();
    await done;
  });

  // fire(): `next <= now` re-anchors. A timer a whole period late has missed a beat: the run
  // re-anchors its period at its own start rather than running twice at the same instant.
  it('a timer exactly one period late re-anchors instead of running twice at once', async () => {
    const clock = new HandClock();
    const ac = new AbortController();
    const runs: number[] = [];
    const done = nonSlidingUntil(() => void runs.push(clock.now()), 100, ac.signal, { clock });
    await settle();
    clock.fire(200);
    expect(clock.delays).toEqual([100, 100]);
    clock.fire(300);
    expect(runs).toEqual([0, 200, 300]);
    ac.abort();
    await done;
  });
});

describe('loop core', () => {
  // TimerQueue.holdBack(): a start asked for during a batch must still get its microtask.
  it('a loop started synchronously inside a timer-fired run starts', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const inner: number[] = [];
    let started = false;
    const done = until(
      () => {
        if (clock.now() === 100 && !started) {
          started = true;
          void until(() => void inner.push(clock.now()), 50, ac.signal, { clock });
        }
      },
      100,
      ac.signal,
      { clock },
    );
    await clock.advance(200);
    expect(inner).toEqual([100, 150, 200]);
    ac.abort();
    await done;
  });

  // fire(): the stop check before every run. The abort event may never reach the loop (another
  // listener stops its propagation); fn must still not run once the signal has aborted.
  it('never runs fn after an abort the loop did not hear of', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    ac.signal.addEventListener('abort', (event) => event.stopImmediatePropagation());
    const fn = jest.fn();
    const done = track(until(fn, 100, ac.signal, { clock }));
    await clock.flush();
    expect(fn).toHaveBeenCalledTimes(1);
    ac.abort();
    await clock.advance(1000);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(done).toMatchObject({ settled: true, rejected: false });
    expect(clock.pendingTimers).toBe(0);
  });

  // fire(): `if (wait < 0) return` after nextWait() threw and ended the loop.
  it('non-sliding: a backoff() that throws ends the loop before fn runs again', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const boom = new Error('no wait');
    let calls = 0;
    const manager = {
      backoff: (): number => {
        if (++calls === 2) throw boom;
        return 100;
      },
    };
    const fn = jest.fn();
    const done = track(backoffUntil(fn, manager, false, ac.signal, { clock }));
    await clock.advance(500);
    expect(done).toMatchObject({ settled: true, rejected: true, error: boom });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(0);
  });

  // succeeded(): `state !== RUNNING` guard. A thenable that fulfils twice must count as one run.
  it('a thenable that calls back twice counts once: one backoff() per run', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const manager = { backoff: jest.fn(() => 100) };
    let runs = 0;
    const fn = (): PromiseLike<void> => {
      runs++;
      return {
        then(onFulfilled) {
          onFulfilled?.(undefined);
          onFulfilled?.(undefined);
          return undefined as never;
        },
      };
    };
    const done = backoffUntil(fn, manager, true, ac.signal, { clock });
    await clock.advance(250);
    expect(runs).toBe(3);
    expect(manager.backoff).toHaveBeenCalledTimes(3);
    ac.abort();
    await done;
  });

  // failed(): `state !== RUNNING` guard. A rejection after the thenable fulfilled is ignored.
  it('a thenable that fulfils and then rejects does not end the loop', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    let runs = 0;
    const fn = (): PromiseLike<void> => {
      runs++;
      return {
        then(onFulfilled, onRejected) {
          onFulfilled?.(undefined);
          onRejected?.(new Error('too late'));
          return undefined as never;
        },
      };
    };
    const done = track(until(fn, 100, ac.signal, { clock }));
    await clock.advance(250);
    expect(runs).toBe(3);
    expect(done.settled).toBe(false);
    ac.abort();
    await clock.flush();
    expect(done).toMatchObject({ settled: true, rejected: false });
  });

  // isThenable(): a function with a `then` method is a thenable, as for `await`.
  it('waits for a callable thenable returned by fn', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const starts: number[] = [];
    const fn = (): unknown => {
      starts.push(clock.now());
      const slept = sleep(clock, 50);
      return Object.assign(() => undefined, { then: slept.then.bind(slept) });
    };
    const done = until(fn, 100, ac.signal, { clock });
    await clock.advance(350);
    expect(starts).toEqual([0, 150, 300]);
    ac.abort();
    await clock.advance(50);
    await done;
  });

  // isThenable(): `value !== null` (typeof null is 'object').
  it('a run that returns null is a synchronous run like any other', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const starts: number[] = [];
    const done = until(
      () => {
        starts.push(clock.now());
        return null;
      },
      100,
      ac.signal,
      { clock },
    );
    await clock.advance(200);
    expect(starts).toEqual([0, 100, 200]);
    ac.abort();
    await done;
  });
});

describe('abort listeners', () => {
  // finish(): unwatchSignal; signal-group.ts unwatchSignal(): the back link of the next member,
  // and removeEventListener once the group is empty.
  it('the last loop to end (by error, in any order) removes the abort listener', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const failing = new Set<string>();
    const loop = (name: string) =>
      track(
        until(
          () => {
            if (failing.has(name)) throw new Error(name);
          },
          100,
          ac.signal,
          { clock },
        ),
      );
    const a = loop('a');
    const b = loop('b');
    const c = loop('c');
    await clock.flush();
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    failing.add('b');
    await clock.advance(100);
    failing.add('a');
    await clock.advance(100);
    failing.add('c');
    await clock.advance(100);
    expect([a.rejected, b.rejected, c.rejected]).toEqual([true, true, true]);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  // unwatchSignal(): `groups.delete(signal)` with the listener. A stale group would take the next
  // loop in without a listener, and that loop would not hear the abort.
  it('a loop started on a signal whose earlier loops all ended still stops at once on abort', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const boom = new Error('boom');
    const first = until(
      () => {
        throw boom;
      },
      100,
      ac.signal,
      { clock },
    );
    await expect(first).rejects.toBe(boom);
    const fn = jest.fn();
    const second = track(until(fn, '1h', ac.signal, { clock }));
    await clock.flush();
    expect(fn).toHaveBeenCalledTimes(1);
    ac.abort();
    await clock.flush();
    expect(second).toMatchObject({ settled: true, rejected: false });
    expect(clock.pendingTimers).toBe(0);
  });

  // poll.ts: unwatchSignal(external, relay) once the poll settles.
  it('poll() removes its abort listener from the caller signal once it resolves', async () => {
    const clock = new FakeClock();
    const external = new AbortController();
    let calls = 0;
    const done = poll(() => ++calls === 2, { interval: 100, signal: external.signal, clock });
    await clock.flush();
    expect(getEventListeners(external.signal, 'abort')).toHaveLength(1);
    await clock.advance(200);
    await done;
    expect(getEventListeners(external.signal, 'abort')).toHaveLength(0);
  });
});

describe('conditions and poll()', () => {
  // condition-loop.ts concluded(): `result === true`, not any truthy value.
  it('only `true` ends a poll; a truthy non-boolean does not', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const condition = (() => (++calls < 3 ? 'yes' : true)) as unknown as ConditionFn;
    const done = track(poll(condition, { interval: 100, clock }));
    await clock.advance(250);
    expect(calls).toBe(2);
    expect(done.settled).toBe(false);
    await clock.advance(100);
    expect(calls).toBe(3);
    expect(done).toMatchObject({ settled: true, rejected: false });
  });

  // poll.ts: the deadline is clock.now() + timeout, not `timeout` on the clock's own scale.
  it('the timeout counts from the call, on a clock that does not start at 0', async () => {
    const clock = new FakeClock(10_000);
    let calls = 0;
    const done = track(poll(() => (calls++, false), { interval: 100, timeout: 1000, clock }));
    await clock.advance(500);
    expect(calls).toBe(5);
    expect(done.settled).toBe(false);
    await clock.advance(500);
    expect(done.settled).toBe(true);
    expect(done.error).toBeInstanceOf(WaitTimeoutError);
  });
});

describe('parseDuration()', () => {
  // duration.ts: only a negative non-zero total is out of range; Go reads '-0s' as 0.
  it("reads '-0s' and '-0.0ms' as 0, as Go does", () => {
    expect(parseDuration('-0s')).toBe(0);
    expect(parseDuration('-0.0ms')).toBe(0);
    expect(() => parseDuration('-1ns')).toThrow(RangeError);
  });
});

describe('FakeClock', () => {
  // fake-clock.ts earliest(): `<`, so the first timer set wins among equal due times.
  it('fires timers of equal due time in the order they were set', async () => {
    const clock = new FakeClock();
    const order: string[] = [];
    for (const name of ['a', 'b', 'c']) clock.setTimeout(() => void order.push(name), 10);
    await clock.advance(10);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  // setTimeout(): a negative or NaN delay counts as 0.
  it('counts a negative or NaN delay as 0, keeping FIFO order among timers due now', async () => {
    const clock = new FakeClock(100);
    const order: string[] = [];
    clock.setTimeout(() => void order.push('zero'), 0);
    clock.setTimeout(() => void order.push('negative'), -5);
    clock.setTimeout(() => void order.push('nan'), NaN);
    expect(clock.nextTimerAt()).toBe(100);
    await clock.advance(0);
    expect(order).toEqual(['zero', 'negative', 'nan']);
    expect(clock.now()).toBe(100);
  });
});

describe('realClock under @sinonjs/fake-timers', () => {
  // arm(): Math.ceil on realClock. Fake (and Node's) timers truncate a fractional delay, which
  // would fire a 2.5 ms wait after 2 ms.
  it('a 2.5 ms period never fires early when timers truncate fractional delays', async () => {
    const clock = FakeTimers.install();
    const ac = new AbortController();
    try {
      const runs: number[] = [];
      const done = until(() => void runs.push(performance.now()), 2.5, ac.signal);
      await clock.tickAsync(10);
      expect(runs.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < runs.length; i++) {
        expect(runs[i] - runs[i - 1]).toBeGreaterThanOrEqual(2.5);
      }
      ac.abort();
      await done;
    } finally {
      ac.abort();
      clock.uninstall();
    }
  });

  // addHeldBack(): on realClock a wait starts at the current whole millisecond, so waits that end
  // in the same millisecond share one timer turn.
  it('waits started at 0.9 ms and 1.1 ms that both end at 5 ms run in one timer turn', async () => {
    const clock = FakeTimers.install();
    const ac = new AbortController();
    try {
      const x: number[] = [];
      const y: number[] = [];
      await clock.tickAsync(0.9);
      const a = until(() => void x.push(performance.now()), 5, ac.signal);
      await clock.tickAsync(0);
      await clock.tickAsync(0.2);
      const b = until(() => void y.push(performance.now()), 4, ac.signal);
      await clock.tickAsync(0);
      expect([x.length, y.length]).toEqual([1, 1]);
      await clock.tickAsync(5);
      expect(x[1]).toBeLessThan(6);
      expect(x[1]).toBe(y[1]);
      ac.abort();
      await Promise.all([a, b]);
    } finally {
      ac.abort();
      clock.uninstall();
    }
  });

  // add() and flush(): `|| this.isStale()`. A timer armed on timers since swapped for others
  // must be moved to the new ones, even when the new entry is due later.
  it('add(): a poll queued after the timers were swapped moves the armed timer over', async () => {
    const first = FakeTimers.install();
    let second: ReturnType<typeof FakeTimers.install> | undefined;
    let uninstalled = false;
    const ac = new AbortController();
    try {
      let runs = 0;
      const loop = until(() => void runs++, 1000, ac.signal);
      await first.tickAsync(0);
      expect(runs).toBe(1);
      first.uninstall();
      uninstalled = true;
      second = FakeTimers.install();
      let calls = 0;
      const polled = poll(() => ++calls === 1, { interval: 2000, signal: ac.signal });
      await second.tickAsync(1000);
      expect(runs).toBe(2);
      await second.tickAsync(1000);
      expect(calls).toBe(1);
      await polled;
      ac.abort();
      await loop;
    } finally {
      ac.abort();
      second?.uninstall();
      if (!uninstalled) first.uninstall();
    }
  });

  it('flush(): a run settling after the timers were swapped moves the armed timer over', async () => {
    const first = FakeTimers.install();
    let second: ReturnType<typeof FakeTimers.install> | undefined;
    let uninstalled = false;
    const ac = new AbortController();
    try {
      let runs = 0;
      let release: (() => void) | undefined;
      const loop = until(() => void runs++, 1000, ac.signal);
      const slow = until(
        () => new Promise<void>((resolve) => (release = resolve)),
        3000,
        ac.signal,
      );
      await first.tickAsync(0);
      expect(runs).toBe(1);
      first.uninstall();
      uninstalled = true;
      second = FakeTimers.install();
      release!();
      await second.tickAsync(1000);
      expect(runs).toBe(2);
      ac.abort();
      await Promise.all([loop, slow]);
    } finally {
      ac.abort();
      second?.uninstall();
      if (!uninstalled) first.uninstall();
    }
  });
});
