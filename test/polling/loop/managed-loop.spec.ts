/*
 * ManagedLoop (lib/polling/loop/managed-loop.ts): a named loop on the loop core that can be started,
 * stopped, triggered and re-timed while it lives, with counters and an observer. Every test runs
 * on FakeClock and pins exact run times; the property model is in managed-loop.model.spec.ts.
 */
import type { PollingContext } from '../../../lib/index.js';
import { ManagedLoop } from '../../../lib/polling/loop/managed-loop.js';
import type { LoopSettings, ManagedLoopObserver } from '../../../lib/polling/loop/loop-settings.js';
import { FakeClock } from '../../../lib/testing/index.js';
import { deferred, observe, QUIET, sleep } from '../../support/helpers.js';

/** How one run behaves: synchronous when `ms` is undefined, else it settles after `ms`. */
interface RunPlan {
  ms?: number;
  fail?: boolean;
}

interface SetupOptions {
  settings?: Partial<LoopSettings>;
  /** The plan of run `n` (1-based, over every start and trigger). Default: synchronous success. */
  plan?: (n: number) => RunPlan;
  random?: () => number;
  /** Runs inside the body before its plan, with the run's number and the loop. */
  inside?: (n: number, loop: ManagedLoop) => void;
  observer?: Partial<ManagedLoopObserver>;
}

const defaults: LoopSettings = {
  period: 100,
  jitter: 0,
  sliding: true,
  initialDelay: 0,
  backoff: undefined,
};

const settings = (overrides: Partial<LoopSettings> = {}): LoopSettings => ({
  ...defaults,
  ...overrides,
});

/**
 * Stops `loop`, moves time on by `ms` and checks that the stop has resolved by then (never
 * awaited bare: a stop that hangs fails the test at once instead of timing it out).
 */
async function stopWithin(loop: ManagedLoop, clock: FakeClock, ms = 0): Promise<void> {
  const stopped = observe(loop.stop(), clock);
  await clock.advance(ms);
  expect(stopped.state).toBe('resolved');
}

/** Triggers `loop` and checks the trigger resolved within `ms` (see stopWithin). */
async function triggerWithin(loop: ManagedLoop, clock: FakeClock, ms = 0): Promise<void> {
  const triggered = observe(loop.trigger(), clock);
  await clock.advance(ms);
  expect(triggered.state).toBe('resolved');
}

/** A managed loop on a fresh FakeClock, recording every run and every observer call. */
function setup(options: SetupOptions = {}) {
  const clock = new FakeClock();
  const starts: number[] = [];
  const ends: number[] = [];
  const contexts: PollingContext[] = [];
  const log: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const plan: (n: number) => RunPlan = options.plan ?? (() => ({}));
  const fn = (ctx: PollingContext): unknown => {
    const n = starts.push(clock.now());
    contexts.push(ctx);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    options.inside?.(n, loop);
    const { ms, fail } = plan(n);
    const settle = (): void => {
      inFlight--;
      ends.push(clock.now());
      if (fail) throw new Error(`run ${n}`);
    };
    if (ms === undefined) return settle();
    return sleep(clock, ms).then(settle);
  };
  const observer: ManagedLoopObserver = {
    runStarted: (loop) => {
      log.push(`started #${loop.iterations} @${clock.now()}`);
      options.observer?.runStarted?.(loop);
    },
    runSucceeded: (loop, failuresBefore) => {
      log.push(`succeeded #${loop.iterations} (${failuresBefore}) @${clock.now()}`);
      options.observer?.runSucceeded?.(loop, failuresBefore);
    },
    runFailed: (loop, error) => {
      log.push(`failed #${loop.iterations} ${(error as Error).message} @${clock.now()}`);
      options.observer?.runFailed?.(loop, error);
    },
    stopped: (loop) => {
      log.push(`stopped @${clock.now()}`);
      options.observer?.stopped?.(loop);
    },
  };
  const loop = new ManagedLoop('job', fn, settings(options.settings), {
    clock,
    random: options.random ?? (() => 0),
    observer,
  });
  return {
    clock,
    loop,
    starts,
    ends,
    contexts,
    log,
    get maxInFlight() {
      return maxInFlight;
    },
    /** Stops the loop, lets every run settle, and checks that nothing is left behind. */
    async finish(): Promise<void> {
      const stopped = observe(loop.stop(), clock);
      await clock.advance(10_000);
      expect(stopped.state).toBe('resolved');
      expect(loop.inFlight).toBe(false);
      expect(clock.pendingTimers).toBe(0);
      expect(maxInFlight).toBeLessThanOrEqual(1);
      expect(loop.iterations).toBe(starts.length);
    },
  };
}

describe('ManagedLoop', () => {
  describe('start()', () => {
    it('runs at once (in a microtask, not inside start()), then a period after each run settles', async () => {
      const h = setup({ plan: () => ({ ms: 30 }) });
      h.loop.start();
      expect(h.starts).toEqual([]);
      expect(h.loop.state).toBe('running');
      await h.clock.flush();
      expect(h.starts).toEqual([0]);
      expect(h.loop.inFlight).toBe(true);
      await h.clock.advance(400);
      expect(h.starts).toEqual([0, 130, 260, 390]);
      const stopped = observe(h.loop.stop(), h.clock);
      await h.clock.advance(100);
      expect(stopped).toEqual({ state: 'resolved', at: 420 });
      expect(h.ends).toEqual([30, 160, 290, 420]);
      expect(h.starts).toEqual([0, 130, 260, 390]);
      await h.finish();
    });

    it('non-sliding: runs start at start + n * period, the run time inside the period', async () => {
      const h = setup({ settings: { sliding: false }, plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(350);
      expect(h.starts).toEqual([0, 100, 200, 300]);
      const stopped = observe(h.loop.stop(), h.clock);
      await h.clock.flush();
      expect(stopped).toEqual({ state: 'resolved', at: 350 });
      await h.finish();
      expect(h.starts).toEqual([0, 100, 200, 300]);
    });

    it('waits initialDelay before the first run of each start', async () => {
      const h = setup({ settings: { initialDelay: 50 } });
      h.loop.start();
      await h.clock.flush();
      expect(h.loop.nextRunAt).toBe(50);
      await h.clock.advance(260);
      expect(h.starts).toEqual([50, 150, 250]);
      await stopWithin(h.loop, h.clock);
      h.loop.start(); // at 260: the initial delay again
      await h.clock.advance(100);
      expect(h.starts).toEqual([50, 150, 250, 310]);
      await h.finish();
    });

    it('is idempotent: a second start() changes nothing', async () => {
      const h = setup();
      h.loop.start();
      await h.clock.advance(50);
      h.loop.start();
      await h.clock.advance(200);
      expect(h.starts).toEqual([0, 100, 200]);
      await h.finish();
    });

    it('jitter: each wait is period + random() * jitter * period', async () => {
      const randoms = [0.5, 0.25, 0];
      const h = setup({
        settings: { jitter: 0.5 },
        random: () => randoms.shift() ?? 0,
      });
      h.loop.start();
      await h.clock.advance(340);
      expect(h.starts).toEqual([0, 125, 237.5, 337.5]);
      await h.finish();
    });

    it('hands each run its signal, a 1-based iteration counted over every start and trigger, and the name', async () => {
      const h = setup();
      h.loop.start();
      await h.clock.advance(150);
      await stopWithin(h.loop, h.clock);
      await triggerWithin(h.loop, h.clock);
      h.loop.start();
      await h.clock.flush();
      expect(h.contexts.map((c) => c.iteration)).toEqual([1, 2, 3, 4]);
      expect(h.contexts.map((c) => c.name)).toEqual(['job', 'job', 'job', 'job']);
      const [first, second, oneShot, restarted] = h.contexts.map((c) => c.signal);
      expect(first).toBe(second);
      expect(first.aborted).toBe(true);
      expect(oneShot).not.toBe(first);
      expect(restarted).not.toBe(oneShot);
      expect(restarted.aborted).toBe(false);
      await h.finish();
      expect(restarted.aborted).toBe(true);
    });
  });

  describe('errors and counters', () => {
    it('errors never end the loop: thrown, rejected and non-Error values are all counted', async () => {
      const clock = new FakeClock();
      const a = new Error('a');
      const outcomes: (() => unknown)[] = [
        () => {
          throw a;
        },
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- on purpose
        () => Promise.reject('b'),
        () => undefined,
        () => {
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- on purpose
          throw null;
        },
        () => sleep(clock, 5),
      ];
      const seen: unknown[][] = [];
      const loop = new ManagedLoop(
        'job',
        (ctx) => outcomes[ctx.iteration - 1](),
        settings({ period: 10 }),
        { clock, random: () => 0, observer: QUIET },
      );
      const snapshot = (): void =>
        void seen.push([
          loop.iterations,
          loop.failures,
          loop.consecutiveFailures,
          loop.lastStartedAt,
          loop.lastSucceededAt,
          loop.lastError,
        ]);
      snapshot();
      loop.start();
      for (let t = 0; t < 5; t++) {
        await clock.advance(t === 0 ? 0 : 10);
        snapshot();
      }
      await clock.advance(5); // the fifth run settles at 45
      snapshot();
      expect(seen).toEqual([
        [0, 0, 0, undefined, undefined, undefined],
        [1, 1, 1, 0, undefined, a],
        [2, 2, 2, 10, undefined, 'b'],
        [3, 2, 0, 20, 20, 'b'],
        [4, 3, 1, 30, 20, null],
        [5, 3, 1, 40, 20, null],
        [5, 3, 0, 40, 45, null],
      ]);
      expect(loop.state).toBe('running');
      await stopWithin(loop, clock);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('a run cut short by stop()', () => {
    /** A body that waits `ms`, or rejects with `reject(signal)` as soon as its signal aborts. */
    function abortable(clock: FakeClock, ms: number, reject: (signal: AbortSignal) => unknown) {
      return (ctx: PollingContext): Promise<void> =>
        new Promise<void>((resolve, fail) => {
          clock.setTimeout(resolve, ms);
          ctx.signal.addEventListener(
            'abort',
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's reason, as fetch() rejects
            () => fail(reject(ctx.signal)),
            { once: true },
          );
        });
    }

    function cutSetup(reject: (signal: AbortSignal) => unknown) {
      const clock = new FakeClock();
      const log: string[] = [];
      const loop = new ManagedLoop('job', abortable(clock, 50, reject), settings(), {
        clock,
        random: () => 0,
        observer: {
          runStarted: () => void log.push(`started @${clock.now()}`),
          runSucceeded: () => void log.push(`succeeded @${clock.now()}`),
          runFailed: () => void log.push(`failed @${clock.now()}`),
          stopped: () => void log.push(`stopped @${clock.now()}`),
        },
      });
      return { clock, log, loop };
    }

    it.each([
      ['the signal\u2019s reason', (signal: AbortSignal): unknown => signal.reason],
      ['an AbortError', () => new DOMException('aborted', 'AbortError')],
      [
        'an error caused by an abort',
        () => new Error('query', { cause: new DOMException('t', 'TimeoutError') }),
      ],
    ])('rejecting with %s is neither a success nor a failure', async (_, reject) => {
      const { clock, log, loop } = cutSetup(reject);
      loop.start();
      await clock.advance(5);
      const triggered = observe(loop.trigger(), clock);
      await clock.advance(5);
      const stopped = observe(loop.stop(), clock);
      await clock.flush();
      expect(stopped).toEqual({ state: 'resolved', at: 10 });
      expect(triggered).toEqual({ state: 'resolved', at: 10 });
      expect(log).toEqual(['started @0', 'stopped @10']);
      expect([loop.iterations, loop.failures, loop.consecutiveFailures]).toEqual([1, 0, 0]);
      expect([loop.lastError, loop.lastSucceededAt]).toEqual([undefined, undefined]);
      await clock.advance(100);
      expect(clock.pendingTimers).toBe(0);
    });

    it('an ordinary error after stop() is still a failure', async () => {
      const boom = new Error('boom');
      const { clock, log, loop } = cutSetup(() => boom);
      loop.start();
      await clock.advance(10);
      await stopWithin(loop, clock);
      expect(log).toEqual(['started @0', 'failed @10', 'stopped @10']);
      expect([loop.failures, loop.lastError]).toEqual([1, boom]);
    });

    it('an AbortError while the loop was not stopped is a failure, and the loop goes on', async () => {
      const clock = new FakeClock();
      const starts: number[] = [];
      const loop = new ManagedLoop(
        'job',
        () => {
          starts.push(clock.now());
          throw new DOMException('elsewhere', 'AbortError');
        },
        settings(),
        { clock, random: () => 0, observer: QUIET },
      );
      loop.start();
      await clock.advance(150);
      expect(starts).toEqual([0, 100]);
      expect([loop.failures, (loop.lastError as Error).name]).toEqual([2, 'AbortError']);
      await stopWithin(loop, clock);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('stop()', () => {
    it('aborts ctx.signal at once and resolves only when the run in flight has settled', async () => {
      const h = setup({ settings: { period: 10 }, plan: () => ({ ms: 50 }) });
      h.loop.start();
      await h.clock.advance(20);
      const stopped = observe(h.loop.stop(), h.clock);
      expect(h.contexts[0].signal.aborted).toBe(true);
      expect(h.loop.state).toBe('stopped');
      expect(h.loop.inFlight).toBe(true);
      expect(h.loop.nextRunAt).toBeUndefined();
      await h.clock.advance(29);
      expect(stopped.state).toBe('pending');
      await h.clock.advance(1);
      expect(stopped).toEqual({ state: 'resolved', at: 50 });
      expect(h.loop.inFlight).toBe(false);
      await h.clock.advance(1000);
      expect(h.starts).toEqual([0]);
      await h.finish();
    });

    it('is idempotent: every call resolves at the same moment, and one stopped() is reported', async () => {
      const h = setup({ plan: () => ({ ms: 50 }) });
      h.loop.start();
      await h.clock.advance(10);
      const one = observe(h.loop.stop(), h.clock);
      await h.clock.advance(10);
      const two = observe(h.loop.stop(), h.clock);
      const three = observe(h.loop.stop(), h.clock);
      await h.clock.advance(30);
      expect([one, two, three]).toEqual([
        { state: 'resolved', at: 50 },
        { state: 'resolved', at: 50 },
        { state: 'resolved', at: 50 },
      ]);
      expect(h.log.filter((line) => line.startsWith('stopped'))).toEqual(['stopped @50']);
      await h.finish();
    });

    it('on a loop that never started: resolves at once, reports nothing', async () => {
      const h = setup();
      const stopped = observe(h.loop.stop(), h.clock);
      await h.clock.flush();
      expect(stopped).toEqual({ state: 'resolved', at: 0 });
      expect(h.log).toEqual([]);
      await h.finish();
      expect(h.starts).toEqual([]);
    });

    it('during a wait: resolves without waiting out the period, and leaves no timer', async () => {
      const h = setup({ settings: { period: 1000 } });
      h.loop.start();
      await h.clock.advance(10);
      const stopped = observe(h.loop.stop(), h.clock);
      await h.clock.flush();
      expect(stopped).toEqual({ state: 'resolved', at: 10 });
      expect(h.clock.pendingTimers).toBe(0);
      expect(h.log).toEqual(['started #1 @0', 'succeeded #1 (0) @0', 'stopped @10']);
      await h.finish();
    });

    it('during the initial delay: no run ever starts', async () => {
      const h = setup({ settings: { initialDelay: 100 } });
      h.loop.start();
      await h.clock.advance(50);
      await stopWithin(h.loop, h.clock);
      expect(h.clock.pendingTimers).toBe(0);
      await h.clock.advance(500);
      expect(h.starts).toEqual([]);
    });
  });

  describe('trigger()', () => {
    it('while waiting: runs at once, resolves when that run settled; the next wait counts from it', async () => {
      const h = setup({ plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(50);
      const triggered = observe(h.loop.trigger(), h.clock);
      await h.clock.flush();
      expect(h.starts).toEqual([0, 50]);
      await h.clock.advance(200);
      expect(triggered).toEqual({ state: 'resolved', at: 60 });
      expect(h.starts).toEqual([0, 50, 160]);
      await h.finish();
    });

    it('non-sliding: a triggered run starts a new cadence at its own start', async () => {
      const h = setup({ settings: { sliding: false }, plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(50);
      void h.loop.trigger();
      await h.clock.advance(210);
      expect(h.starts).toEqual([0, 50, 150, 250]);
      await h.finish();
    });

    it('during the initial delay: runs at once, and the period follows from that run', async () => {
      const h = setup({ settings: { initialDelay: 500 } });
      h.loop.start();
      await h.clock.advance(20);
      await triggerWithin(h.loop, h.clock);
      await h.clock.advance(200);
      expect(h.starts).toEqual([20, 120, 220]);
      await h.finish();
    });

    it('during a run: one more run right after it, whatever the number of calls; all resolve when it settled', async () => {
      const h = setup({ plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(10);
      const early = [h.loop.trigger(), h.loop.trigger(), h.loop.trigger()].map((p) =>
        observe(p, h.clock),
      );
      expect(h.loop.nextRunAt).toBeUndefined();
      await h.clock.advance(10);
      const late = observe(h.loop.trigger(), h.clock);
      await h.clock.advance(250);
      expect(h.starts).toEqual([0, 30, 160]);
      for (const outcome of [...early, late])
        expect(outcome).toEqual({ state: 'resolved', at: 60 });
      await h.finish();
    });

    it('two triggers in the same tick while waiting make exactly one run', async () => {
      const h = setup();
      h.loop.start();
      await h.clock.advance(50);
      const a = observe(h.loop.trigger(), h.clock);
      const b = observe(h.loop.trigger(), h.clock);
      expect(h.loop.nextRunAt).toBe(50);
      await h.clock.advance(100);
      expect(h.starts).toEqual([0, 50, 150]);
      expect([a, b]).toEqual([
        { state: 'resolved', at: 50 },
        { state: 'resolved', at: 50 },
      ]);
      await h.finish();
    });

    it('a failed triggered run resolves the trigger too: errors are counted, not thrown', async () => {
      const h = setup({ plan: (n) => ({ ms: 5, fail: n === 2 }) });
      h.loop.start();
      await h.clock.advance(50);
      const triggered = observe(h.loop.trigger(), h.clock);
      await h.clock.advance(10);
      expect(triggered).toEqual({ state: 'resolved', at: 55 });
      expect([h.loop.failures, h.loop.consecutiveFailures]).toEqual([1, 1]);
      expect((h.loop.lastError as Error).message).toBe('run 2');
      await h.finish();
    });

    it('resolves after the observer heard how its run ended', async () => {
      const order: string[] = [];
      const h = setup({
        plan: (n) => ({ ms: 5, fail: n === 3 }),
        observer: {
          runSucceeded: (loop) => void order.push(`succeeded #${loop.iterations}`),
          runFailed: (loop) => void order.push(`failed #${loop.iterations}`),
        },
      });
      h.loop.start();
      await h.clock.advance(50);
      void h.loop.trigger().then(() => order.push('trigger 1 resolved'));
      await h.clock.advance(10);
      void h.loop.trigger().then(() => order.push('trigger 2 resolved'));
      await h.clock.advance(10);
      expect(order).toEqual([
        'succeeded #1',
        'succeeded #2',
        'trigger 1 resolved',
        'failed #3',
        'trigger 2 resolved',
      ]);
      await h.finish();
    });

    it('a synchronous body that triggers its own loop gets one more run right after it', async () => {
      const triggers: { at: number; runsBefore: number }[] = [];
      const h = setup({
        inside: (n, loop) => {
          if (n > 3) return;
          void loop.trigger().then(() => triggers.push({ at: h.clock.now(), runsBefore: n }));
        },
      });
      h.loop.start();
      await h.clock.advance(150);
      // Runs 1 to 3 each trigger one more: 4 runs at 0, then the period.
      expect(h.starts).toEqual([0, 0, 0, 0, 100]);
      expect(triggers).toEqual([
        { at: 0, runsBefore: 1 },
        { at: 0, runsBefore: 2 },
        { at: 0, runsBefore: 3 },
      ]);
      expect(h.maxInFlight).toBe(1);
      await h.finish();
    });

    it('an asynchronous body that triggers its own loop gets one more run right after it settles', async () => {
      const h = setup({
        plan: () => ({ ms: 10 }),
        inside: (n, loop) => {
          if (n === 1) void loop.trigger();
        },
      });
      h.loop.start();
      await h.clock.advance(150);
      expect(h.starts).toEqual([0, 10, 120]);
      await h.finish();
    });

    describe('on a stopped loop', () => {
      it('runs one iteration alone (a one-shot): the loop stays stopped', async () => {
        const h = setup({ plan: () => ({ ms: 20 }) });
        const triggered = observe(h.loop.trigger(), h.clock);
        expect(h.starts).toEqual([]);
        await h.clock.flush();
        expect(h.starts).toEqual([0]);
        expect(h.loop.state).toBe('stopped');
        expect(h.loop.inFlight).toBe(true);
        expect(h.loop.nextRunAt).toBeUndefined();
        await h.clock.advance(1000);
        expect(triggered).toEqual({ state: 'resolved', at: 20 });
        expect(h.starts).toEqual([0]);
        expect(h.log).toEqual(['started #1 @0', 'succeeded #1 (0) @20']);
        expect(h.clock.pendingTimers).toBe(0);
        await h.finish();
      });

      it('two triggers in the same tick share one run', async () => {
        const h = setup();
        const a = observe(h.loop.trigger(), h.clock);
        const b = observe(h.loop.trigger(), h.clock);
        await h.clock.advance(100);
        expect(h.starts).toEqual([0]);
        expect([a.state, b.state]).toEqual(['resolved', 'resolved']);
        await h.finish();
      });

      it('a trigger during the one-shot run makes one more run right after it, then the loop rests', async () => {
        const h = setup({ plan: () => ({ ms: 20 }) });
        const first = observe(h.loop.trigger(), h.clock);
        await h.clock.advance(5);
        const second = observe(h.loop.trigger(), h.clock);
        const third = observe(h.loop.trigger(), h.clock);
        await h.clock.advance(1000);
        expect(h.starts).toEqual([0, 20]);
        expect([first, second, third]).toEqual([
          { state: 'resolved', at: 20 },
          { state: 'resolved', at: 40 },
          { state: 'resolved', at: 40 },
        ]);
        expect(h.log.some((line) => line.startsWith('stopped'))).toBe(false);
        await h.finish();
      });

      it('a trigger made once the one-shot run has resolved its trigger runs again', async () => {
        // `await loop.trigger(); await loop.trigger();`: the second call comes in the microtask
        // after the first run settled, before the one-shot session has been cleared.
        const h = setup();
        const times: number[] = [];
        const twice = (async () => {
          await h.loop.trigger();
          times.push(h.clock.now());
          await h.loop.trigger();
          times.push(h.clock.now());
        })();
        await h.clock.advance(10);
        const done = observe(twice, h.clock);
        await h.clock.flush();
        expect(done.state).toBe('resolved');
        expect(h.starts).toEqual([0, 0]);
        await h.finish();
      });

      it('a trigger during stop() settling, stopped again before it ran, makes no run', async () => {
        // stop(), trigger(), stop(): the second stop comes after the trigger, so the trigger
        // must resolve without a run, as when a loop is stopped before a triggered run starts.
        const h = setup({ plan: () => ({ ms: 10 }) });
        h.loop.start();
        await h.clock.advance(5);
        void h.loop.stop();
        const triggered = observe(h.loop.trigger(), h.clock);
        const stopped = observe(h.loop.stop(), h.clock);
        await h.clock.advance(100);
        expect(h.starts).toEqual([0]);
        expect(triggered.state).toBe('resolved');
        expect(stopped).toEqual({ state: 'resolved', at: 10 });
        await h.finish();
      });
    });

    describe('resolves without a run when the loop stops before the run starts', () => {
      it('trigger(); stop() in one tick while waiting', async () => {
        const h = setup();
        h.loop.start();
        await h.clock.advance(50);
        const triggered = observe(h.loop.trigger(), h.clock);
        void h.loop.stop();
        await h.clock.advance(100);
        expect(triggered).toEqual({ state: 'resolved', at: 50 });
        expect(h.starts).toEqual([0]);
        await h.finish();
      });

      it('trigger(); stop() in one tick on a stopped loop', async () => {
        const h = setup();
        const triggered = observe(h.loop.trigger(), h.clock);
        const stopped = observe(h.loop.stop(), h.clock);
        await h.clock.advance(100);
        expect(triggered).toEqual({ state: 'resolved', at: 0 });
        expect(stopped).toEqual({ state: 'resolved', at: 0 });
        expect(h.starts).toEqual([]);
        expect(h.log).toEqual([]);
        await h.finish();
      });

      it('a trigger during a run, then stop() before the run settled', async () => {
        const h = setup({ plan: () => ({ ms: 30 }) });
        h.loop.start();
        await h.clock.advance(10);
        const triggered = observe(h.loop.trigger(), h.clock);
        await h.clock.advance(10);
        void h.loop.stop();
        await h.clock.advance(100);
        expect(triggered).toEqual({ state: 'resolved', at: 30 });
        expect(h.starts).toEqual([0]);
        await h.finish();
      });
    });

    describe('while a stop is settling', () => {
      it('waits for the stop to settle, then runs once', async () => {
        const h = setup({ plan: () => ({ ms: 30 }) });
        h.loop.start();
        await h.clock.advance(10);
        const order: string[] = [];
        void h.loop.stop().then(() => order.push(`stop resolved @${h.clock.now()}`));
        const triggered = observe(h.loop.trigger(), h.clock);
        expect(h.loop.state).toBe('stopped');
        await h.clock.advance(19);
        expect(h.starts).toEqual([0]);
        await h.clock.advance(1);
        order.push(`starts ${h.starts.join(',')}`);
        await h.clock.advance(500);
        expect(order).toEqual(['stop resolved @30', 'starts 0,30']);
        expect(triggered).toEqual({ state: 'resolved', at: 60 });
        expect(h.starts).toEqual([0, 30]);
        expect(h.loop.state).toBe('stopped');
        expect(h.maxInFlight).toBe(1);
        await h.finish();
      });

      it('then start(): the trigger is served by the restarted loop', async () => {
        // The trigger joins the restarted loop: one run after the stop settled, not two.
        const h = setup({ plan: () => ({ ms: 30 }) });
        h.loop.start();
        await h.clock.advance(10);
        void h.loop.stop();
        const triggered = observe(h.loop.trigger(), h.clock);
        h.loop.start();
        await h.clock.advance(200);
        expect(h.maxInFlight).toBe(1);
        expect(triggered).toEqual({ state: 'resolved', at: 60 });
        expect(h.starts).toEqual([0, 30, 160]);
        await h.finish();
      });
    });
  });

  describe('start() while a stop or a one-shot run is settling', () => {
    it('after stop(): the loop starts once the run in flight settled, never overlapping', async () => {
      const h = setup({ settings: { initialDelay: 20 }, plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(30);
      const stopped = observe(h.loop.stop(), h.clock);
      await h.clock.advance(10);
      h.loop.start();
      expect(h.loop.state).toBe('running');
      expect(h.loop.inFlight).toBe(true);
      await h.clock.advance(100);
      expect(stopped).toEqual({ state: 'resolved', at: 50 });
      // Run 1 at 20 (initial delay) settles at 50; the restart waits its initial delay from there.
      expect(h.starts).toEqual([20, 70]);
      expect(h.log).toEqual([
        'started #1 @20',
        'succeeded #1 (0) @50',
        'stopped @50',
        'started #2 @70',
        'succeeded #2 (0) @100',
      ]);
      expect(h.maxInFlight).toBe(1);
      await h.finish();
    });

    it('nextRunAt is unknown while the stop settles, then the restart\u2019s first run', async () => {
      // Non-sliding: the stopping session still holds the target it planned for a next run (150)
      // that will never come; the restart runs at 80 + initialDelay instead.
      const h = setup({ settings: { sliding: false, initialDelay: 50 }, plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(60); // run 1: 50..80
      void h.loop.stop();
      h.loop.start();
      expect(h.loop.nextRunAt).toBeUndefined();
      await h.clock.advance(20); // the stop settled at 80
      expect(h.loop.nextRunAt).toBe(130);
      await h.clock.advance(50);
      expect(h.starts).toEqual([50, 130]);
      await h.finish();
    });

    it('stop(); start() in one tick during a wait: one stop reported, the initial delay again', async () => {
      const h = setup({ settings: { initialDelay: 5 } });
      h.loop.start();
      await h.clock.advance(50);
      const stopped = observe(h.loop.stop(), h.clock);
      h.loop.start();
      await h.clock.advance(110);
      expect(stopped).toEqual({ state: 'resolved', at: 50 });
      expect(h.starts).toEqual([5, 55, 155]);
      expect(h.log.filter((line) => line.startsWith('stopped'))).toEqual(['stopped @50']);
      await h.finish();
    });

    it('stop(); start(); stop() in one tick: the loop stays stopped', async () => {
      const h = setup();
      h.loop.start();
      await h.clock.advance(50);
      const a = observe(h.loop.stop(), h.clock);
      h.loop.start();
      const b = observe(h.loop.stop(), h.clock);
      await h.clock.advance(500);
      expect([a, b]).toEqual([
        { state: 'resolved', at: 50 },
        { state: 'resolved', at: 50 },
      ]);
      expect(h.starts).toEqual([0]);
      expect(h.loop.state).toBe('stopped');
      await h.finish();
    });

    it('during a one-shot run: the loop starts once that run settled', async () => {
      const h = setup({ plan: () => ({ ms: 30 }) });
      const triggered = observe(h.loop.trigger(), h.clock);
      await h.clock.advance(10);
      h.loop.start();
      expect(h.loop.state).toBe('running');
      expect(h.loop.nextRunAt).toBeUndefined();
      await h.clock.advance(200);
      expect(triggered).toEqual({ state: 'resolved', at: 30 });
      expect(h.starts).toEqual([0, 30, 160]);
      expect(h.maxInFlight).toBe(1);
      expect(h.log.some((line) => line.startsWith('stopped'))).toBe(false);
      await h.finish();
    });

    it('start() then trigger() on a stopped loop in one tick: one run serves both', async () => {
      const h = setup();
      h.loop.start();
      const triggered = observe(h.loop.trigger(), h.clock);
      await h.clock.advance(150);
      expect(triggered).toEqual({ state: 'resolved', at: 0 });
      expect(h.starts).toEqual([0, 100]);
      await h.finish();
    });

    it('trigger() then start() on a stopped loop in one tick: the one-shot runs, then the loop', async () => {
      const h = setup({ settings: { initialDelay: 40 } });
      const triggered = observe(h.loop.trigger(), h.clock);
      h.loop.start();
      await h.clock.advance(150);
      expect(triggered).toEqual({ state: 'resolved', at: 0 });
      expect(h.starts).toEqual([0, 40, 140]);
      await h.finish();
    });
  });

  describe('update()', () => {
    it('sliding: a new period re-plans the wait in progress from the end of the last run', async () => {
      const h = setup({ plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(50);
      expect(h.loop.nextRunAt).toBe(110);
      h.loop.update(settings({ period: 200 }));
      await h.clock.flush();
      expect(h.loop.nextRunAt).toBe(210);
      await h.clock.advance(400);
      expect(h.starts).toEqual([0, 210, 420]);
      await h.finish();
    });

    it('sliding: a shorter period whose target has passed runs at once', async () => {
      const h = setup({ plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(50);
      h.loop.update(settings({ period: 20 }));
      await h.clock.advance(40);
      expect(h.starts).toEqual([0, 50, 80]);
      await h.finish();
    });

    it('non-sliding: keeps the anchor at the start of the last run', async () => {
      const h = setup({ settings: { sliding: false }, plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(50);
      h.loop.update(settings({ sliding: false, period: 300 }));
      await h.clock.flush();
      expect(h.loop.nextRunAt).toBe(300);
      await h.clock.advance(600);
      expect(h.starts).toEqual([0, 300, 600]);
      await h.finish();
    });

    it('non-sliding, during a run: the next run comes at its start + the new period', async () => {
      const h = setup({ settings: { sliding: false }, plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(5);
      expect(h.loop.nextRunAt).toBe(100);
      h.loop.update(settings({ sliding: false, period: 300 }));
      expect(h.loop.nextRunAt).toBe(300);
      await h.clock.advance(400);
      expect(h.starts).toEqual([0, 300]);
      await h.finish();
    });

    it('non-sliding, after a run that overran its period: re-plans from that run\u2019s start', async () => {
      // Run 1 (0..150) overran its period of 100: run 2 is due at once (150). A new period of
      // 200 then counts from run 1's start, 0: run 2 at 200, not at 250 (150 - 100 + 200).
      let release!: () => void;
      const clock = new FakeClock();
      const starts: number[] = [];
      const loop = new ManagedLoop(
        'job',
        () => {
          starts.push(clock.now());
          if (starts.length === 1) return new Promise<void>((resolve) => (release = resolve));
        },
        settings({ sliding: false }),
        { clock, random: () => 0, observer: QUIET },
      );
      loop.start();
      await clock.advance(150);
      release();
      await clock.flush(); // run 1 settled at 150; run 2 is queued for 150
      expect(loop.nextRunAt).toBe(150);
      loop.update(settings({ sliding: false, period: 200 }));
      await clock.advance(300);
      expect(starts).toEqual([0, 200, 400]);
      await stopWithin(loop, clock);
      expect(clock.pendingTimers).toBe(0);
    });

    it('a switch to non-sliding applies from the next wait: the wait in progress stays', async () => {
      const h = setup({ plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(50);
      h.loop.update(settings({ sliding: false }));
      await h.clock.advance(220);
      // 130 was planned from run 1's end; from run 2 on the period counts from each start.
      expect(h.starts).toEqual([0, 130, 230]);
      h.loop.update(settings({ sliding: true })); // at 270, waiting for 330
      await h.clock.advance(230);
      // 330 was planned from run 3's start; from run 4 on the period counts from each end.
      expect(h.starts).toEqual([0, 130, 230, 330, 460]);
      await h.finish();
    });

    it('a switch to non-sliding during a run: the next target counts from that run\u2019s start', async () => {
      const h = setup({ plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(140);
      expect(h.loop.nextRunAt).toBeUndefined(); // sliding: not known before the run settles
      h.loop.update(settings({ sliding: false }));
      expect(h.loop.nextRunAt).toBe(230);
      await h.clock.advance(100);
      expect(h.starts).toEqual([0, 130, 230]);
      await h.finish();
    });

    it('a switch to sliding during a run: the next wait counts from that run\u2019s end', async () => {
      const h = setup({ settings: { sliding: false }, plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(10);
      h.loop.update(settings({ sliding: true }));
      await h.clock.advance(300);
      expect(h.starts).toEqual([0, 130, 260]);
      await h.finish();
    });

    it('keeps the initial delay of the first run; the new period applies after it', async () => {
      const h = setup({ settings: { initialDelay: 50 } });
      h.loop.start();
      await h.clock.advance(10);
      h.loop.update(settings({ initialDelay: 50, period: 10 }));
      await h.clock.advance(65);
      expect(h.starts).toEqual([50, 60, 70]);
      await h.finish();
    });

    it('on a stopped loop: the settings apply at the next start', async () => {
      const h = setup();
      h.loop.update(settings({ initialDelay: 30, period: 40 }));
      h.loop.start();
      await h.clock.advance(120);
      expect(h.starts).toEqual([30, 70, 110]);
      await h.finish();
    });

    it('during a one-shot run: no effect on it; the new settings apply to the next start', async () => {
      const h = setup({ plan: () => ({ ms: 10 }) });
      void h.loop.trigger();
      await h.clock.advance(5);
      h.loop.update(settings({ period: 10 }));
      await h.clock.advance(100);
      expect(h.starts).toEqual([0]);
      h.loop.start();
      await h.clock.advance(45);
      expect(h.starts).toEqual([0, 105, 125, 145]);
      await h.finish();
    });

    it('during a backoff wait: the wait stays; the new period applies after the next success', async () => {
      const h = setup({
        settings: { backoff: { initial: 50, max: 50, factor: 2, jitter: 0, resetAfter: 1000 } },
        plan: (n) => ({ fail: n === 1 }),
      });
      h.loop.start();
      await h.clock.advance(10);
      h.loop.update(
        settings({
          period: 20,
          backoff: { initial: 50, max: 50, factor: 2, jitter: 0, resetAfter: 1000 },
        }),
      );
      await h.clock.advance(85);
      expect(h.starts).toEqual([0, 50, 70, 90]);
      await h.finish();
    });

    it('non-sliding: a new period during the run after a failure applies when that run succeeds', async () => {
      // With a backoff, run 1 fails at 0 and run 2 comes at 10. A new period of 300, set while
      // run 2 is in flight, re-plans the wait that started with run 2: run 3 at 10 + 300.
      const backoff = { initial: 10, max: 10, factor: 2, jitter: 0, resetAfter: 1000 };
      const h = setup({
        settings: { sliding: false, backoff },
        plan: (n) => (n === 1 ? { fail: true } : { ms: 20 }),
      });
      h.loop.start();
      await h.clock.advance(15);
      expect(h.starts).toEqual([0, 10]);
      h.loop.update(settings({ sliding: false, backoff, period: 300 }));
      await h.clock.advance(400);
      expect(h.starts).toEqual([0, 10, 310]);
      await h.finish();
    });
  });

  describe('backoff', () => {
    const backoff = { initial: 1, max: 8, factor: 2, jitter: 0, resetAfter: 1000 };

    it('waits 1, 2, 4, 8, 8, 8 after failures; a success resets it to the period, and the next failure starts at 1', async () => {
      const h = setup({
        settings: { backoff },
        plan: (n) => ({ fail: n <= 6 || n === 8 }),
      });
      h.loop.start();
      await h.clock.advance(250);
      expect(h.starts).toEqual([0, 1, 3, 7, 15, 23, 31, 131, 132, 232]);
      expect(h.log).toContain('succeeded #7 (6) @31');
      expect(h.log).toContain('succeeded #9 (1) @132');
      expect([h.loop.failures, h.loop.consecutiveFailures]).toEqual([7, 0]);
      await h.finish();
    });

    it('counts each backoff wait from the failure\u2019s settle, sliding or not', async () => {
      const slow = { initial: 50, max: 1000, factor: 2, jitter: 0, resetAfter: 1000 };
      const h = setup({
        settings: { sliding: false, backoff: slow },
        plan: (n) => ({ ms: 20, fail: n <= 2 }),
      });
      h.loop.start();
      await h.clock.advance(300);
      // 0..20 fails: +50; 70..90 fails: +100; 190..210 succeeds: non-sliding from its start.
      expect(h.starts).toEqual([0, 70, 190, 290]);
      await h.finish();
    });

    it('jitters each backoff wait with the loop\u2019s random numbers', async () => {
      const h = setup({
        settings: { backoff: { initial: 10, max: 100, factor: 2, jitter: 0.5, resetAfter: 1000 } },
        random: () => 0.5,
        plan: () => ({ fail: true }),
      });
      h.loop.start();
      await h.clock.advance(40);
      // 10 * (1 + 0.5 * 0.5) = 12.5, then 20 * 1.25 = 25.
      expect(h.starts).toEqual([0, 12.5, 37.5]);
      await h.finish();
    });

    it.each([
      [20, [0, 40, 80, 120]],
      [1000, [0, 40, 90, 160]],
    ])(
      'resetAfter %d: failures further apart than it start over from initial',
      async (resetAfter, expected) => {
        const h = setup({
          settings: { backoff: { initial: 10, max: 100, factor: 2, jitter: 0, resetAfter } },
          plan: () => ({ ms: 30, fail: true }),
        });
        h.loop.start();
        await h.clock.advance(expected[3]);
        expect(h.starts).toEqual(expected);
        await h.finish();
      },
    );

    it('without a backoff, a failure is followed by the period as usual', async () => {
      const h = setup({ plan: () => ({ ms: 10, fail: true }) });
      h.loop.start();
      await h.clock.advance(250);
      expect(h.starts).toEqual([0, 110, 220]);
      await h.finish();
    });

    it('a trigger during a backoff wait runs at once; a failure then goes on with the sequence', async () => {
      const h = setup({
        settings: { backoff: { initial: 10, max: 1000, factor: 2, jitter: 0, resetAfter: 1000 } },
        plan: () => ({ fail: true }),
      });
      h.loop.start();
      await h.clock.advance(15);
      expect(h.starts).toEqual([0, 10]);
      expect(h.loop.nextRunAt).toBe(30);
      void h.loop.trigger();
      await h.clock.advance(40);
      expect(h.starts).toEqual([0, 10, 15, 55]);
      await h.finish();
    });
  });

  describe('acted on while its next wait is held back', () => {
    /**
     * Loops A and B start in one tick, so their first runs share a batch: A's synchronous run
     * settles first and its next wait is held back until the batch ends; B's run acts on A then.
     */
    function pair(act: (a: ManagedLoop) => void, sliding = true) {
      const clock = new FakeClock();
      const aStarts: number[] = [];
      const seen: (number | undefined)[] = [];
      const quiet: ManagedLoopObserver = QUIET;
      const a = new ManagedLoop('a', () => void aStarts.push(clock.now()), settings({ sliding }), {
        clock,
        random: () => 0,
        observer: quiet,
      });
      const b = new ManagedLoop(
        'b',
        (ctx) => {
          if (ctx.iteration !== 1) return;
          seen.push(a.nextRunAt);
          act(a);
        },
        settings({ period: 1000 }),
        { clock, random: () => 0, observer: quiet },
      );
      a.start();
      b.start();
      return { clock, a, b, aStarts, seen };
    }

    it.each([true, false])(
      'sliding %s: two triggers in one tick make exactly one run, at once, and none at the old wait',
      async (sliding) => {
        const triggers: ReturnType<typeof observe>[] = [];
        const p = pair((a) => {
          triggers.push(observe(a.trigger(), p.clock), observe(a.trigger(), p.clock));
        }, sliding);
        await p.clock.advance(250);
        expect(p.seen).toEqual([100]); // held back: now + wait
        expect(p.aStarts).toEqual([0, 0, 100, 200]);
        expect(triggers).toEqual([
          { state: 'resolved', at: 0 },
          { state: 'resolved', at: 0 },
        ]);
        await stopWithin(p.a, p.clock);
        await stopWithin(p.b, p.clock);
        expect(p.clock.pendingTimers).toBe(0);
      },
    );

    it.each([true, false])(
      'sliding %s: a new period re-plans the held-back wait',
      async (sliding) => {
        const p = pair((a) => a.update(settings({ sliding, period: 30 })), sliding);
        await p.clock.advance(100);
        expect(p.aStarts).toEqual([0, 30, 60, 90]);
        await stopWithin(p.a, p.clock);
        await stopWithin(p.b, p.clock);
        expect(p.clock.pendingTimers).toBe(0);
      },
    );

    it('stop() resolves at once, and no run follows', async () => {
      const stops: ReturnType<typeof observe>[] = [];
      const p = pair((a) => void stops.push(observe(a.stop(), p.clock)));
      await p.clock.advance(250);
      expect(stops).toEqual([{ state: 'resolved', at: 0 }]);
      expect(p.aStarts).toEqual([0]);
      await stopWithin(p.b, p.clock);
      expect(p.clock.pendingTimers).toBe(0);
    });
  });

  describe('nextRunAt and inFlight', () => {
    it('follow the loop: planned time, now before a triggered run, the target of a non-sliding run', async () => {
      const h = setup({ settings: { sliding: false, initialDelay: 10 }, plan: () => ({ ms: 5 }) });
      const seen: unknown[] = [];
      const look = (): void => void seen.push([h.loop.inFlight, h.loop.nextRunAt]);
      look(); // never started
      h.loop.start();
      await h.clock.flush();
      look(); // initial delay
      await h.clock.advance(12);
      look(); // run 1 in flight (10..15), next at 110
      await h.clock.advance(8);
      look(); // waiting for 110
      void h.loop.trigger();
      look(); // a trigger is about to run: now
      await h.clock.flush();
      look(); // the triggered run is in flight, next at 120
      void h.loop.trigger();
      look(); // a run follows the one in flight: not known
      await h.clock.advance(100);
      void h.loop.stop();
      look();
      await h.clock.advance(100);
      expect(seen).toEqual([
        [false, undefined],
        [false, 10],
        [true, 110],
        [false, 110],
        [false, 20],
        [true, 120],
        [true, undefined],
        [false, undefined],
      ]);
      await h.finish();
    });
  });

  describe('the observer', () => {
    it('hears each run start and end, then the stop, in order, seeing the counters of the moment', async () => {
      const seen: string[] = [];
      const h = setup({
        settings: { period: 20 },
        plan: (n) => ({ ms: n === 3 ? undefined : 10, fail: n === 2 || n === 3 }),
        observer: {
          runStarted: (loop) => void seen.push(`inFlight=${loop.inFlight}`),
          runFailed: (loop) => void seen.push(`consecutive=${loop.consecutiveFailures}`),
          runSucceeded: (loop) => void seen.push(`lastSucceededAt=${loop.lastSucceededAt}`),
          stopped: (loop) => void seen.push(`stopped ${loop.state} inFlight=${loop.inFlight}`),
        },
      });
      h.loop.start();
      await h.clock.advance(115);
      void h.loop.stop().then(() => h.log.push(`stop resolved @${h.clock.now()}`));
      await h.clock.advance(100);
      expect(h.log).toEqual([
        'started #1 @0',
        'succeeded #1 (0) @10',
        'started #2 @30',
        'failed #2 run 2 @40',
        'started #3 @60',
        'failed #3 run 3 @60',
        'started #4 @80',
        'succeeded #4 (2) @90',
        'started #5 @110',
        'succeeded #5 (0) @120',
        'stopped @120',
        'stop resolved @120',
      ]);
      expect(seen).toEqual([
        'inFlight=true',
        'lastSucceededAt=10',
        'inFlight=true',
        'consecutive=1',
        'inFlight=true',
        'consecutive=2',
        'inFlight=true',
        'lastSucceededAt=90',
        'inFlight=true',
        'lastSucceededAt=120',
        'stopped stopped inFlight=false',
      ]);
      await h.finish();
    });

    it('a throwing runFailed ends the loop: the error is kept, the stop reported, pending triggers resolve', async () => {
      const fatal = new Error('observer');
      const h = setup({
        plan: (n) => ({ ms: 10, fail: n === 2 }),
        observer: {
          runFailed: () => {
            throw fatal;
          },
        },
      });
      h.loop.start();
      await h.clock.advance(50);
      const triggered = observe(h.loop.trigger(), h.clock);
      await h.clock.advance(500);
      expect(h.starts).toEqual([0, 50]);
      expect(h.loop.state).toBe('stopped');
      expect(h.loop.lastError).toBe(fatal);
      expect(h.log.at(-1)).toBe('stopped @60');
      expect(triggered).toEqual({ state: 'resolved', at: 60 });
      await h.finish();
    });
  });
});

describe('ManagedLoop with a gate (leader election)', () => {
  it('checks the gate before every run: a term that ran out stops runs even if nobody said so, and runs carry its token', async () => {
    const clock = new FakeClock(0);
    let until = 450;
    const gate = { admit: (now: number) => (now < until ? 7 : undefined) };
    const seen: [number, number | undefined][] = [];
    const loop = new ManagedLoop(
      'gated',
      (ctx) => void seen.push([clock.now(), ctx.fencingToken]),
      defaults,
      { clock, random: () => 0, observer: QUIET },
      gate,
    );
    loop.start();
    await clock.advance(1000);
    expect(seen).toEqual([
      [0, 7],
      [100, 7],
      [200, 7],
      [300, 7],
      [400, 7],
    ]);
    expect(loop.state).toBe('standby');
    expect(clock.pendingTimers).toBe(0); // standing by holds no timer
    until = Infinity;
    loop.gateChanged();
    await clock.advance(150);
    expect(seen.slice(5)).toEqual([
      [1000, 7],
      [1100, 7],
    ]);
    expect(loop.state).toBe('running');
    await loop.stop();
  });
});

/** A managed loop with the default settings, no jitter and an observer that ignores everything. */
const quietLoop = (name: string, fn: (ctx: PollingContext) => unknown, clock: FakeClock) =>
  new ManagedLoop(name, fn, defaults, { clock, random: () => 0, observer: QUIET });

describe('ManagedLoop ctx.signal, made on first read', () => {
  it('is aborted when first read after the stop, and is one signal for the runs of a start', async () => {
    const clock = new FakeClock(0);
    const gate = deferred();
    const seen: AbortSignal[] = [];
    let late: AbortSignal | undefined;
    const loop = quietLoop(
      'lazy',
      async (ctx) => {
        if (ctx.iteration < 3) return void seen.push(ctx.signal);
        await gate.promise;
        late = ctx.signal; // first read of this run's signal, after stop() below
      },
      clock,
    );
    loop.start();
    await clock.advance(200);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    const stopped = loop.stop('bye');
    gate.resolve();
    await stopped;
    expect(seen[0].aborted).toBe(true);
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toBe('bye');
  });

  it('a signal first read after the stop by a run that never read it before is aborted too', async () => {
    const clock = new FakeClock(0);
    const gate = deferred();
    let late: AbortSignal | undefined;
    const loop = quietLoop(
      'lazy-late',
      async (ctx) => {
        await gate.promise;
        late = ctx.signal;
      },
      clock,
    );
    loop.start();
    await clock.flush();
    const stopped = loop.stop('bye');
    gate.resolve();
    await stopped;
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toBe('bye');
  });

  /*
   * The context's fields are own and enumerable, so `{ ...ctx }`, Object.assign() and
   * Object.keys() see them all: a prototype getter would be dropped by a spread. Checked on a
   * run before the AbortController exists (its `signal` makes it on first read) and on runs after.
   */
  it("{ ...ctx } keeps signal, iteration, name and fencingToken, and the copy's signal aborts on stop", async () => {
    const clock = new FakeClock(0);
    const copies: PollingContext[] = [];
    const keys: string[][] = [];
    const loop = quietLoop(
      'spread',
      (ctx) => {
        keys.push(Object.keys(ctx));
        copies.push({ ...ctx }, Object.assign({}, ctx));
      },
      clock,
    );
    loop.start();
    await clock.advance(100); // two runs: the first makes the signal (the spread reads it)
    expect(copies).toHaveLength(4);
    const fields = ['signal', 'iteration', 'name', 'fencingToken'];
    expect(keys).toEqual([fields, fields]);
    for (const copy of copies) {
      expect(Object.keys(copy)).toEqual(fields);
      expect(copy.signal).toBeInstanceOf(AbortSignal);
      expect(copy.signal.aborted).toBe(false);
      expect(copy.name).toBe('spread');
      expect(copy.fencingToken).toBeUndefined();
    }
    expect(copies.map((c) => c.iteration)).toEqual([1, 1, 2, 2]);
    await loop.stop('bye');
    for (const copy of copies) expect(copy.signal.reason).toBe('bye');
  });

  it('a body that never reads ctx.signal makes no AbortController, though its contexts list signal', async () => {
    const clock = new FakeClock(0);
    const RealAbortController = globalThis.AbortController;
    let constructed = 0;
    globalThis.AbortController = new Proxy(RealAbortController, {
      construct(target, args) {
        constructed++;
        return Reflect.construct(target, args) as object;
      },
    });
    try {
      const contexts: PollingContext[] = [];
      const loop = quietLoop('idle', (ctx) => void contexts.push(ctx), clock);
      loop.start();
      await clock.advance(250);
      expect(contexts.map((c) => c.iteration)).toEqual([1, 2, 3]);
      expect(contexts.map((c) => Object.keys(c).length)).toEqual([4, 4, 4]);
      expect(constructed).toBe(0);
      await loop.stop();
      expect(constructed).toBe(0);
    } finally {
      globalThis.AbortController = RealAbortController;
    }
  });

  it('a context whose signal does not exist yet answers like a plain object: hasOwn, descriptors, freeze', async () => {
    const clock = new FakeClock(0);
    const contexts: PollingContext[] = [];
    const loop = quietLoop('exotic', (ctx) => void contexts.push(ctx), clock);
    loop.start();
    await clock.advance(100);
    const [first, second] = contexts;
    // Neither has made the signal yet: these only ask about it.
    expect(Object.hasOwn(first, 'signal')).toBe(true);
    expect('signal' in first).toBe(true);
    expect(Object.getOwnPropertyDescriptor(first, 'signal')).toMatchObject({ enumerable: true });
    expect(JSON.stringify(Object.keys(second))).toBe(
      '["signal","iteration","name","fencingToken"]',
    );
    const signal = Object.getOwnPropertyDescriptor(first, 'signal')!.get!.call(
      first,
    ) as AbortSignal;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(second.signal).toBe(signal); // one signal for the runs of a start
    expect(Object.isFrozen(Object.freeze(second))).toBe(true);
    expect({ ...second }).toEqual({
      signal,
      iteration: 2,
      name: 'exotic',
      fencingToken: undefined,
    });
    await loop.stop();
    expect(first.signal.aborted).toBe(true);
  });
});
