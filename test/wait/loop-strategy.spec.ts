/*
 * The loop core's strategy calls and controls (lib/wait/loop-core.ts): run(), retryWait(),
 * runNow(), replan(), setSliding(), the `running` and `nextRunAt` getters; and the timer queue's
 * held-back markers and dueOf() (lib/wait/timer-queue.ts). Tested with a recording strategy, on
 * FakeClock, with exact run times.
 */
import { until, type Clock, type LoopContext, type LoopFn } from '../../lib/index.js';
import { LoopCore } from '../../lib/wait/loop-core.js';
import { rejectWith, type LoopEnd, type LoopStrategy } from '../../lib/wait/loop-strategy.js';
import { queueFor, type TimerEntry, type TimerQueue } from '../../lib/wait/timer-queue.js';
import { FakeClock } from '../../lib/testing/index.js';
import { observe, sleep } from '../support/helpers.js';

interface Options {
  sliding?: boolean;
  /** The waits nextWait() returns, in turn; the last one repeats. Default 100. */
  waits?: number[];
  /** What retryWait() returns. Default undefined (the hook's default). */
  retry?: () => number | undefined;
  /** Whether the loop has an onError. Default true. */
  onError?: boolean;
  name?: string;
}

/**
 * A strategy whose calls are recorded, on a loop core: the core's controls are reached through
 * it. Stopped by its signal, ended as `until` is (resolves; rejects without onError).
 */
class TestLoop implements LoopStrategy {
  readonly begun: { iteration: number; now: number; running: boolean }[] = [];
  readonly errors: unknown[] = [];
  waitCalls = 0;
  retryCalls = 0;
  waits: number[];
  readonly core: LoopCore;
  private settle: (end: LoopEnd) => void = () => undefined;

  constructor(
    private readonly fn: LoopFn,
    readonly signal: AbortSignal,
    clock: Clock,
    private readonly options: Options = {},
  ) {
    this.core = new LoopCore(this, options.sliding ?? true, clock);
    this.waits = options.waits ?? [100];
  }

  start(initialDelay?: number): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      const fail: (error: unknown) => void = reject;
      this.settle = (end) => (end.failed ? fail(end.error) : resolve());
    });
    if (this.signal.aborted) this.core.stop();
    else this.signal.addEventListener('abort', () => this.core.stop(), { once: true });
    this.core.start(initialDelay);
    return done;
  }

  runNow(): void {
    this.core.runNow();
  }

  replan(): void {
    this.core.replan();
  }

  setSliding(sliding: boolean): void {
    this.core.setSliding(sliding);
  }

  get running(): boolean {
    return this.core.running;
  }

  get nextRunAt(): number | undefined {
    return this.core.nextRunAt;
  }

  nextWait(): number {
    this.waitCalls++;
    return this.waits.length > 1 ? this.waits.shift()! : this.waits[0];
  }

  retryWait(): number | undefined {
    this.retryCalls++;
    return this.options.retry?.();
  }

  admit(): undefined {
    return undefined;
  }

  run(iteration: number, now: number): unknown {
    this.begun.push({ iteration, now, running: this.running });
    const ctx = { signal: this.signal, iteration, name: this.options.name } as LoopContext;
    return this.fn(ctx);
  }

  settled(failed: boolean, error: unknown): LoopEnd | undefined {
    if (!failed) return undefined;
    if (this.options.onError === false) return rejectWith(error);
    this.errors.push(error);
    return undefined;
  }

  ended(end: LoopEnd): void {
    this.settle(end);
  }
}

interface Run {
  start: number;
  end?: number;
}

/**
 * A TestLoop on a fresh FakeClock whose run `n` (1-based) settles after `ms(n)` (synchronously
 * when undefined) and fails when `fails(n)`.
 */
function setup(
  options: Options & {
    ms?: (n: number) => number | undefined;
    fails?: (n: number) => boolean;
    inside?: (n: number, loop: TestLoop) => void;
    initialDelay?: number;
  } = {},
) {
  const clock = new FakeClock();
  const controller = new AbortController();
  const runs: Run[] = [];
  const contexts: LoopContext[] = [];
  const fn = (ctx: LoopContext): unknown => {
    const run: Run = { start: clock.now() };
    const n = runs.push(run);
    contexts.push(ctx);
    options.inside?.(n, loop);
    const settle = (): void => {
      run.end = clock.now();
      if (options.fails?.(n)) throw new Error(`run ${n}`);
    };
    const ms = options.ms?.(n);
    if (ms === undefined) return settle();
    return sleep(clock, ms).then(settle);
  };
  const loop = new TestLoop(fn, controller.signal, clock, options);
  const done = observe(loop.start(options.initialDelay), clock);
  const starts = (): number[] => runs.map((r) => r.start);
  return {
    clock,
    controller,
    loop,
    runs,
    contexts,
    done,
    starts,
    /** Aborts, lets every run settle, and checks the loop resolved and left no timer. */
    async finish(): Promise<void> {
      controller.abort();
      await clock.advance(10_000);
      expect(done.state).toBe('resolved');
      expect(loop.running).toBe(false);
      expect(loop.nextRunAt).toBeUndefined();
      expect(clock.pendingTimers).toBe(0);
    },
  };
}

describe('LoopStrategy.run()', () => {
  it('gets each iteration with the batch time, and the context it returns is what fn receives', async () => {
    const h = setup({ name: 'named', ms: () => 10 });
    await h.clock.advance(250);
    expect(h.loop.begun).toEqual([
      { iteration: 1, now: 0, running: true },
      { iteration: 2, now: 110, running: true },
      { iteration: 3, now: 220, running: true },
    ]);
    expect(h.contexts).toEqual([
      { signal: h.controller.signal, iteration: 1, name: 'named' },
      { signal: h.controller.signal, iteration: 2, name: 'named' },
      { signal: h.controller.signal, iteration: 3, name: 'named' },
    ]);
    await h.finish();
  });

  it('until() hands fn { signal, iteration } alone', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const contexts: LoopContext[] = [];
    const done = observe(
      until((ctx) => void contexts.push(ctx), 100, controller.signal, { clock }),
      clock,
    );
    await clock.advance(100);
    controller.abort();
    await clock.flush();
    expect(contexts).toEqual([
      { signal: controller.signal, iteration: 1 },
      { signal: controller.signal, iteration: 2 },
    ]);
    expect(Object.keys(contexts[0]).sort()).toEqual(['iteration', 'signal']);
    expect(done).toEqual({ state: 'resolved', at: 100 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('non-sliding: is called after the next target was planned', async () => {
    const targets: (number | undefined)[] = [];
    const h = setup({
      sliding: false,
      inside: (_, loop) => void targets.push(loop.nextRunAt),
    });
    await h.clock.advance(200);
    expect(targets).toEqual([100, 200, 300]);
    await h.finish();
  });

  it('is not called for a run the stop signal kept from starting', async () => {
    const h = setup();
    await h.clock.advance(50);
    h.controller.abort();
    await h.clock.advance(500);
    expect(h.loop.begun.map((b) => b.iteration)).toEqual([1]);
    await h.finish();
  });
});

describe('LoopStrategy.retryWait()', () => {
  it('after a failure onError took, replaces the wait, counted from when the run settled (sliding)', async () => {
    const h = setup({ retry: () => 50, ms: () => 20, fails: (n) => n === 1 });
    await h.clock.advance(300);
    // Run 1: 0..20 fails, +50; run 2: 70..90 succeeds, +100; run 3 at 190, run 4 at 310.
    expect(h.starts()).toEqual([0, 70, 190]);
    expect(h.loop.retryCalls).toBe(1);
    expect(h.loop.errors).toHaveLength(1);
    await h.finish();
  });

  it('non-sliding: replaces the absolute target; the cadence restarts at the retried run', async () => {
    const h = setup({ sliding: false, retry: () => 10, fails: (n) => n === 1 });
    await h.clock.advance(250);
    expect(h.starts()).toEqual([0, 10, 110, 210]);
    await h.finish();
  });

  it('undefined keeps the normal plan, sliding or not', async () => {
    const sliding = setup({ ms: () => 20, fails: () => true });
    const fixed = setup({ sliding: false, ms: () => 20, fails: () => true });
    await sliding.clock.advance(300);
    await fixed.clock.advance(300);
    expect(sliding.starts()).toEqual([0, 120, 240]);
    expect(fixed.starts()).toEqual([0, 100, 200, 300]);
    expect(sliding.loop.retryCalls).toBe(3);
    expect(fixed.loop.retryCalls).toBe(3);
    await sliding.finish();
    await fixed.finish();
  });

  it('is not asked after a success, nor when there is no onError (the loop rejects)', async () => {
    const ok = setup({ retry: () => 1 });
    await ok.clock.advance(250);
    expect(ok.starts()).toEqual([0, 100, 200]);
    expect(ok.loop.retryCalls).toBe(0);
    await ok.finish();

    const bare = setup({ onError: false, retry: () => 1, fails: () => true });
    await bare.clock.advance(250);
    expect(bare.done.state).toBe('rejected');
    expect((bare.done.error as Error).message).toBe('run 1');
    expect(bare.loop.retryCalls).toBe(0);
    expect(bare.clock.pendingTimers).toBe(0);
  });

  it('is not asked when a run was asked for during the failing run: that run comes first', async () => {
    const h = setup({
      retry: () => 50,
      ms: () => 10,
      fails: (n) => n === 1,
      inside: (n, loop) => n === 1 && loop.runNow(),
    });
    await h.clock.advance(150);
    expect(h.starts()).toEqual([0, 10, 120]);
    expect(h.loop.retryCalls).toBe(0);
    await h.finish();
  });
});

describe('LoopCore.runNow()', () => {
  it('while waiting: runs at once, in a microtask at the current time, never inside the call', async () => {
    const h = setup({ ms: () => 10 });
    await h.clock.advance(50);
    h.loop.runNow();
    expect(h.starts()).toEqual([0]);
    expect(h.loop.nextRunAt).toBe(50);
    await h.clock.flush();
    expect(h.starts()).toEqual([0, 50]);
    await h.clock.advance(200);
    expect(h.starts()).toEqual([0, 50, 160]);
    await h.finish();
  });

  it('during a run: right after it settles; every call until then is served by that run', async () => {
    const h = setup({ ms: () => 30 });
    await h.clock.advance(10);
    h.loop.runNow();
    h.loop.runNow();
    await h.clock.advance(10);
    h.loop.runNow();
    expect(h.loop.nextRunAt).toBeUndefined();
    await h.clock.advance(200);
    expect(h.starts()).toEqual([0, 30, 160]);
    await h.finish();
  });

  it('non-sliding, during a run: the next run comes when it settles, and the cadence restarts there', async () => {
    const h = setup({ sliding: false, ms: () => 30 });
    await h.clock.advance(10);
    expect(h.loop.nextRunAt).toBe(100);
    h.loop.runNow();
    expect(h.loop.nextRunAt).toBeUndefined();
    await h.clock.advance(200);
    expect(h.starts()).toEqual([0, 30, 130]);
    await h.finish();
  });

  it('non-sliding, while waiting: the cadence restarts at the run it started', async () => {
    const h = setup({ sliding: false });
    await h.clock.advance(50);
    h.loop.runNow();
    await h.clock.advance(200);
    expect(h.starts()).toEqual([0, 50, 150, 250]);
    await h.finish();
  });

  it('two calls in one tick while waiting make exactly one run', async () => {
    const h = setup();
    await h.clock.advance(50);
    h.loop.runNow();
    h.loop.runNow();
    await h.clock.advance(120);
    expect(h.starts()).toEqual([0, 50, 150]);
    await h.finish();
  });

  it('during the initial delay: runs at once', async () => {
    const h = setup({ initialDelay: 500 });
    await h.clock.advance(20);
    h.loop.runNow();
    await h.clock.advance(200);
    expect(h.starts()).toEqual([20, 120, 220]);
    await h.finish();
  });

  it('right after start() (the first run not yet begun): no second run', async () => {
    const h = setup();
    h.loop.runNow();
    h.loop.runNow();
    await h.clock.advance(150);
    expect(h.starts()).toEqual([0, 100]);
    await h.finish();
  });

  it('does nothing once the loop has ended', async () => {
    const h = setup();
    await h.clock.advance(50);
    h.controller.abort();
    await h.clock.flush();
    h.loop.runNow();
    await h.clock.advance(200);
    expect(h.starts()).toEqual([0]);
    await h.finish();
  });

  describe('while the wait is held back (between a run settling and its wait being queued)', () => {
    /**
     * Loops A and B start in one tick, so their first runs share a batch. A's synchronous run
     * settles first; its next wait is held back until the batch ends, and B's run acts on A then.
     */
    function pair(sliding: boolean, act: (a: TestLoop) => void) {
      const clock = new FakeClock();
      const controller = new AbortController();
      const aStarts: number[] = [];
      const seen: { nextRunAt: number | undefined; running: boolean }[] = [];
      const a = new TestLoop(() => void aStarts.push(clock.now()), controller.signal, clock, {
        sliding,
      });
      const b = new TestLoop(
        (ctx) => {
          if (ctx.iteration !== 1) return;
          seen.push({ nextRunAt: a.nextRunAt, running: a.running });
          act(a);
        },
        controller.signal,
        clock,
        { waits: [1000] },
      );
      const done = [observe(a.start(), clock), observe(b.start(), clock)];
      return { clock, controller, a, aStarts, seen, done };
    }

    it.each([true, false])(
      'sliding %s: two calls make one run at once, and no run at the old wait',
      async (sliding) => {
        const p = pair(sliding, (a) => {
          a.runNow();
          a.runNow();
        });
        await p.clock.advance(250);
        expect(p.seen).toEqual([{ nextRunAt: 100, running: false /* held back: now + wait */ }]);
        expect(p.aStarts).toEqual([0, 0, 100, 200]);
        p.controller.abort();
        await p.clock.flush();
        expect(p.done.map((d) => d.state)).toEqual(['resolved', 'resolved']);
        expect(p.clock.pendingTimers).toBe(0);
      },
    );

    it.each([true, false])('sliding %s: replan() re-plans the held-back wait', async (sliding) => {
      const p = pair(sliding, (a) => {
        a.waits = [30];
        a.replan();
      });
      await p.clock.advance(100);
      expect(p.aStarts).toEqual([0, 30, 60, 90]);
      p.controller.abort();
      await p.clock.flush();
      expect(p.clock.pendingTimers).toBe(0);
    });

    it('an asynchronous run: runNow() in the microtask after it settled runs once, at once', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const starts: number[] = [];
      const seen: (number | undefined)[] = [];
      const loop: TestLoop = new TestLoop(
        () => {
          starts.push(clock.now());
          const ran = sleep(clock, 10);
          if (starts.length === 1) {
            // Runs after the loop saw the run settle, before its wait is queued.
            void ran.then(() =>
              queueMicrotask(() => {
                seen.push(loop.nextRunAt);
                loop.runNow();
                loop.runNow();
              }),
            );
          }
          return ran;
        },
        controller.signal,
        clock,
      );
      const done = observe(loop.start(), clock);
      await clock.advance(200);
      expect(seen).toEqual([110]); // held back: settled at 10, wait 100
      expect(starts).toEqual([0, 10, 120]);
      controller.abort();
      await clock.advance(10);
      expect(done.state).toBe('resolved');
      expect(clock.pendingTimers).toBe(0);
    });
  });
});

describe('LoopCore.replan()', () => {
  it('sliding, while waiting: the new wait counts from the end of the last run', async () => {
    const h = setup({ ms: () => 10 });
    await h.clock.advance(50);
    h.loop.waits = [200];
    h.loop.replan();
    await h.clock.flush();
    expect(h.loop.nextRunAt).toBe(210);
    await h.clock.advance(400);
    expect(h.starts()).toEqual([0, 210, 420]);
    await h.finish();
  });

  it('a target already passed runs at once', async () => {
    const h = setup({ ms: () => 10 });
    await h.clock.advance(50);
    h.loop.waits = [20];
    h.loop.replan();
    await h.clock.advance(40);
    expect(h.starts()).toEqual([0, 50, 80]);
    await h.finish();
  });

  it('non-sliding, while waiting: the new wait counts from the start of the last run', async () => {
    const h = setup({ sliding: false, ms: () => 10 });
    await h.clock.advance(150);
    h.loop.waits = [300];
    h.loop.replan();
    await h.clock.flush();
    expect(h.loop.nextRunAt).toBe(400);
    await h.clock.advance(400);
    expect(h.starts()).toEqual([0, 100, 400]);
    await h.finish();
  });

  it('non-sliding, during a run: the next target moves to its start + the new wait', async () => {
    const h = setup({ sliding: false, ms: () => 30 });
    await h.clock.advance(110);
    h.loop.waits = [50];
    h.loop.replan();
    expect(h.loop.nextRunAt).toBe(150);
    await h.clock.advance(100);
    expect(h.starts()).toEqual([0, 100, 150, 200]);
    await h.finish();
  });

  it('sliding, during a run: does not ask; the wait is asked for when the run settles', async () => {
    const h = setup({ ms: () => 30 });
    await h.clock.advance(10);
    const calls = h.loop.waitCalls;
    h.loop.waits = [50];
    h.loop.replan();
    expect(h.loop.waitCalls).toBe(calls);
    await h.clock.advance(100);
    expect(h.starts()).toEqual([0, 80]);
    await h.finish();
  });

  it('keeps the initial delay of the first run, without asking', async () => {
    const h = setup({ initialDelay: 50 });
    await h.clock.advance(10);
    h.loop.waits = [5];
    h.loop.replan();
    expect(h.loop.waitCalls).toBe(0);
    await h.clock.advance(50);
    expect(h.starts()).toEqual([50, 55, 60]);
    await h.finish();
  });

  it('does nothing while a run is about to start, or once the loop has ended', async () => {
    const h = setup();
    await h.clock.advance(50);
    h.loop.runNow();
    const calls = h.loop.waitCalls;
    h.loop.replan();
    expect(h.loop.waitCalls).toBe(calls);
    await h.clock.advance(100);
    expect(h.starts()).toEqual([0, 50, 150]);
    h.controller.abort();
    await h.clock.flush();
    h.loop.replan();
    expect(h.loop.waitCalls).toBe(calls + 2);
    await h.finish();
  });

  it('during a retry wait: replaces it, counted from the failed run\u2019s settle', async () => {
    const h = setup({ retry: () => 500, ms: () => 10, fails: (n) => n === 1 });
    await h.clock.advance(50);
    expect(h.loop.nextRunAt).toBe(510);
    h.loop.replan();
    await h.clock.advance(100);
    expect(h.starts()).toEqual([0, 110]);
    await h.finish();
  });

  it('non-sliding, after a run that overran its wait: the new wait counts from that run\u2019s start', async () => {
    // Run 1 (0..150) overran its wait of 100, so run 2 is due at once; a new wait of 200 counts
    // from run 1's start like every non-sliding re-plan: run 2 at 200, not at 250.
    let release!: () => void;
    const clock = new FakeClock();
    const controller = new AbortController();
    const starts: number[] = [];
    const loop = new TestLoop(
      () => {
        starts.push(clock.now());
        if (starts.length === 1) return new Promise<void>((resolve) => (release = resolve));
      },
      controller.signal,
      clock,
      { sliding: false },
    );
    const done = observe(loop.start(), clock);
    await clock.advance(150);
    release();
    await clock.flush();
    expect(loop.nextRunAt).toBe(150);
    loop.waits = [200];
    loop.replan();
    await clock.advance(300);
    expect(starts).toEqual([0, 200, 400]);
    controller.abort();
    await clock.flush();
    expect(done.state).toBe('resolved');
    expect(clock.pendingTimers).toBe(0);
  });

  it('a throwing nextWait() ends the loop with its error and leaves no timer', async () => {
    const h = setup({ ms: () => 10 });
    await h.clock.advance(50);
    const boom = new Error('nextWait');
    h.loop.waits = [];
    Object.defineProperty(h.loop, 'waits', {
      get: () => {
        throw boom;
      },
    });
    h.loop.replan();
    await h.clock.flush();
    expect(h.done).toEqual({ state: 'rejected', error: boom, at: 50 });
    expect(h.clock.pendingTimers).toBe(0);
    await h.clock.advance(500);
    expect(h.starts()).toEqual([0]);
  });
});

describe('LoopCore.setSliding()', () => {
  it('to the same value: does nothing, asks nothing', async () => {
    const h = setup({ sliding: false, ms: () => 30 });
    await h.clock.advance(10);
    const calls = h.loop.waitCalls;
    h.loop.setSliding(false);
    expect(h.loop.waitCalls).toBe(calls);
    expect(h.loop.nextRunAt).toBe(100);
    await h.clock.advance(200);
    expect(h.starts()).toEqual([0, 100, 200]);
    await h.finish();
  });

  it('to non-sliding during a run: the next target counts from the run\u2019s start', async () => {
    const h = setup({ ms: () => 30 });
    await h.clock.advance(140);
    expect(h.loop.nextRunAt).toBeUndefined();
    h.loop.setSliding(false);
    expect(h.loop.nextRunAt).toBe(230);
    await h.clock.advance(200);
    expect(h.starts()).toEqual([0, 130, 230, 330]);
    await h.finish();
  });

  it('to sliding during a run: the next wait counts from the run\u2019s end', async () => {
    const h = setup({ sliding: false, ms: () => 30 });
    await h.clock.advance(110);
    h.loop.setSliding(true);
    await h.clock.advance(200);
    expect(h.starts()).toEqual([0, 100, 230]);
    await h.finish();
  });

  it('while waiting: the wait in progress stays; the switch applies from the next wait', async () => {
    const h = setup({ ms: () => 30 });
    await h.clock.advance(50); // waiting for 130 (sliding)
    h.loop.setSliding(false);
    expect(h.loop.nextRunAt).toBe(130);
    await h.clock.advance(210);
    expect(h.starts()).toEqual([0, 130, 230]);
    h.loop.setSliding(true); // at 260, waiting for 330 (non-sliding)
    expect(h.loop.nextRunAt).toBe(330);
    await h.clock.advance(200);
    expect(h.starts()).toEqual([0, 130, 230, 330, 460]);
    await h.finish();
  });
});

describe('LoopCore.running and nextRunAt', () => {
  it('sliding: the due time while waiting, unknown while a run is in flight or held back', async () => {
    const h = setup({ ms: () => 10, initialDelay: 5 });
    const seen: [boolean, number | undefined][] = [];
    const look = (): void => void seen.push([h.loop.running, h.loop.nextRunAt]);
    look();
    await h.clock.advance(7);
    look();
    await h.clock.advance(10);
    look();
    h.controller.abort();
    await h.clock.flush();
    look();
    expect(seen).toEqual([
      [false, 5],
      [true, undefined],
      [false, 115],
      [false, undefined],
    ]);
    await h.finish();
  });

  it('non-sliding: the next target during a run, unknown once a run follows at once', async () => {
    const h = setup({ sliding: false, ms: () => 10 });
    await h.clock.advance(5);
    const during = h.loop.nextRunAt;
    h.loop.runNow();
    expect([during, h.loop.nextRunAt, h.loop.running]).toEqual([100, undefined, true]);
    await h.clock.advance(10);
    expect(h.starts()).toEqual([0, 10]);
    expect(h.loop.nextRunAt).toBe(110);
    await h.finish();
  });

  it('a loop whose signal aborted before start() never runs and knows no next run', async () => {
    const clock = new FakeClock();
    const loop = new TestLoop(() => undefined, AbortSignal.abort(), clock);
    const done = observe(loop.start(), clock);
    await clock.advance(100);
    expect(done).toEqual({ state: 'resolved', at: 0 });
    expect([loop.running, loop.nextRunAt, loop.begun]).toEqual([false, undefined, []]);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('TimerQueue: held-back markers and dueOf()', () => {
  function entry(clock: FakeClock) {
    const fired: number[] = [];
    const e: TimerEntry = { due: 0, heapIndex: -1, fire: (now) => void fired.push(now) };
    return { e, fired, queue: queueFor(clock) };
  }

  it('dueOf: the due time when queued, now when about to start, undefined otherwise', async () => {
    const clock = new FakeClock(1000);
    const { e, queue } = entry(clock);
    expect(queue.dueOf(e)).toBeUndefined();
    queue.add(e, 1050);
    expect(queue.dueOf(e)).toBe(1050);
    queue.remove(e);
    expect(queue.dueOf(e)).toBeUndefined();
    queue.addNow(e);
    expect(queue.dueOf(e)).toBe(1000);
    queue.remove(e);
    queue.addAfter(e, 30);
    expect(queue.dueOf(e)).toBeUndefined(); // starts from the next clock read
    await clock.flush();
    expect(queue.dueOf(e)).toBe(1030);
    queue.remove(e);
    queue.addAtLeast(e, 900);
    expect(queue.dueOf(e)).toBeUndefined();
    await clock.flush();
    expect(queue.dueOf(e)).toBe(1000); // a passed target: now
    queue.remove(e);
    expect(clock.pendingTimers).toBe(0);
  });

  type Op = (queue: TimerQueue, e: TimerEntry) => void;
  const now: Op = (q, e) => q.addNow(e);
  const after50: Op = (q, e) => q.addAfter(e, 50);
  const atLeast50: Op = (q, e) => q.addAtLeast(e, 50);
  const after10: Op = (q, e) => q.addAfter(e, 10);
  const remove: Op = (q, e) => q.remove(e);

  it.each<[string, Op[], number[]]>([
    ['started twice in one tick fires once', [now, now], [0]],
    ['held back with a wait, then started in the same tick, fires once: now', [after50, now], [0]],
    [
      'held back with a target, then started in the same tick, fires once: now',
      [atLeast50, now],
      [0],
    ],
    [
      'started, then held back with a wait in the same tick, fires once: after the wait',
      [now, after50],
      [50],
    ],
    ['removed before its start does not fire', [now, remove, after10, remove], []],
  ])('an entry %s', async (_name, ops, expected) => {
    const clock = new FakeClock();
    const { e, fired, queue } = entry(clock);
    for (const op of ops) op(queue, e);
    await clock.advance(100);
    expect(fired).toEqual(expected);
    expect(clock.pendingTimers).toBe(0);
  });
});
