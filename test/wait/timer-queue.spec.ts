/*
 * The shared timer queue under the loops: heap order, arming, late and early timers, and swapped
 * global timers (realClock under @sinonjs/fake-timers). Many of these cases were found by
 * mutating the queue: the mutant each one kills is in the comment above it.
 */
import * as FakeTimers from '@sinonjs/fake-timers';
import { nonSlidingUntil, poll, until, type Clock } from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

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
  // timer-heap.ts heapRemove(): without siftUp / siftDown, or siftUp with a wrong parent index, the
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

  // runDue(): target = max(now, the armed timer's target). With `now` alone, a timer whose clock reads a hair
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

  // armed-timer.ts rearm(): Math.max(due - now, 0). An entry overdue when the queue arms gets 0, never a negative
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
  // re-anchor (`this.due = next`), or runDue passing the armed target instead of the batch's time.
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

describe('realClock under @sinonjs/fake-timers', () => {
  // armed-timer.ts rearm(): Math.ceil on realClock. Fake (and Node's) timers truncate a fractional delay, which
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

  // add() and flush(): `|| this.timer.stale`. A timer armed on timers since swapped for others
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
