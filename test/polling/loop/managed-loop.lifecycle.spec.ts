/*
 * ManagedLoop start() and stop(): the cadence (sliding, non-sliding, initial delay, jitter), the run
 * context of each run, the counters and errors, and a run cut short by stop().
 */
import type { PollingContext } from '../../../lib/index.js';
import { ManagedLoop } from '../../../lib/polling/loop/managed-loop.js';
import { FakeClock } from '../../../lib/testing/index.js';
import { observe, QUIET, sleep } from '../../support/helpers.js';
import { settings, setup, stopWithin, triggerWithin } from './support.js';

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
});
