/*
 * exponentialBackoff(): Go's wait.ExponentialBackoff / ExponentialBackoffWithContext.
 *
 * Ports (k8s.io/apimachinery/pkg/util/wait/wait_test.go):
 * - TestExponentialBackoff: every row (Duration 0)
 * - TestExponentialBackoffWithContext: every row (Duration 1µs -> 1 ms; the zeroDuration row with
 *   duration 0), with AbortSignal reasons in place of context errors, errors compared by identity
 * Plus the semantics of backoff.go ExponentialBackoffWithContext that the tables leave implicit:
 * the sleeps between calls come from Backoff.step() (steps - 1 of them), the cap ends the steps
 * after one more sleep and no further call, `steps: 0` rejects without calling even when the
 * signal has aborted, and an abort during a sleep ends the wait at once.
 */
import { jest } from '@jest/globals';
import {
  exponentialBackoff,
  isInterrupted,
  WaitTimeoutError,
  type BackoffOptions,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { observe, recorder, sleep, type Answer } from '../support/helpers.js';

const never: Answer = () => false;

describe('exponentialBackoff()', () => {
  describe('TestExponentialBackoff (Duration 0)', () => {
    it('{Factor: 1} (Steps 0): WaitTimeoutError, condition never called', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, () => true);
      const outcome = observe(
        exponentialBackoff({ duration: 0, factor: 1 }, c.condition, { clock }),
        clock,
      );
      await clock.advance(100);
      expect(outcome.state).toBe('rejected');
      expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
      expect(c.times).toEqual([]);
      expect(clock.pendingTimers).toBe(0);
    });

    it('{Factor: 1, Steps: 3}, always false: WaitTimeoutError after exactly 3 calls', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, never);
      const outcome = observe(
        exponentialBackoff({ duration: 0, factor: 1, steps: 3 }, c.condition, { clock }),
        clock,
      );
      await clock.advance(100);
      expect(outcome.state).toBe('rejected');
      expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
      expect(c.times).toEqual([0, 0, 0]);
      expect(clock.pendingTimers).toBe(0);
    });

    it('true on the first call: resolves after 1 call', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, () => true);
      const outcome = observe(
        exponentialBackoff({ duration: 0, factor: 1, steps: 3 }, c.condition, { clock }),
        clock,
      );
      await clock.advance(100);
      expect(outcome.state).toBe('resolved');
      expect(c.times).toHaveLength(1);
    });

    it('(false, testErr): rejects with that very error after 1 call', async () => {
      const clock = new FakeClock();
      const testErr = new Error('some error');
      const c = recorder(clock, () => {
        throw testErr;
      });
      const outcome = observe(
        exponentialBackoff({ duration: 0, factor: 1, steps: 3 }, c.condition, { clock }),
        clock,
      );
      await clock.advance(100);
      expect(outcome.state).toBe('rejected');
      expect(outcome.error).toBe(testErr);
      expect(c.times).toHaveLength(1);
    });

    it('false, false, then true on the last step: resolves after 3 calls', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, (attempt) => attempt >= 3);
      const outcome = observe(
        exponentialBackoff({ duration: 0, factor: 1, steps: 3 }, c.condition, { clock }),
        clock,
      );
      await clock.advance(100);
      expect(outcome.state).toBe('resolved');
      expect(c.times).toHaveLength(3);
    });
  });

  describe('TestExponentialBackoffWithContext', () => {
    type SignalKind = 'default' | 'canceled' | 'deadlined';
    type Want = 'resolved' | 'timeout' | 'conditionErr' | 'reason';
    interface Row {
      name: string;
      steps: number;
      duration?: number;
      signal: SignalKind;
      callback: (attempt: number) => boolean; // may throw conditionErr
      cancelAfter?: number;
      attempts: number;
      want: Want;
    }
    const conditionErr = new Error('condition failed');
    const rows: Row[] = [
      {
        name: 'no attempts with zero steps',
        steps: 0,
        signal: 'default',
        callback: () => false,
        attempts: 0,
        want: 'timeout',
      },
      {
        name: 'condition returns false with single step',
        steps: 1,
        signal: 'default',
        callback: () => false,
        attempts: 1,
        want: 'timeout',
      },
      {
        name: 'condition returns true with single step',
        steps: 1,
        signal: 'default',
        callback: () => true,
        attempts: 1,
        want: 'resolved',
      },
      {
        name: 'condition always returns false with multiple steps',
        steps: 5,
        signal: 'default',
        callback: () => false,
        attempts: 5,
        want: 'timeout',
      },
      {
        name: 'condition returns true after certain attempts',
        steps: 5,
        signal: 'default',
        callback: (n) => n === 3,
        attempts: 3,
        want: 'resolved',
      },
      {
        name: 'condition returns error no further attempts expected',
        steps: 5,
        signal: 'default',
        callback: () => {
          throw conditionErr;
        },
        attempts: 1,
        want: 'conditionErr',
      },
      {
        name: 'context already canceled no attempts expected',
        steps: 5,
        signal: 'canceled',
        callback: () => false,
        attempts: 0,
        want: 'reason',
      },
      {
        name: 'context at deadline no attempts expected',
        steps: 5,
        signal: 'deadlined',
        callback: () => false,
        attempts: 0,
        want: 'reason',
      },
      {
        name: 'always false, canceled after attempt 4',
        steps: 5,
        signal: 'default',
        callback: () => false,
        cancelAfter: 4,
        attempts: 4,
        want: 'reason',
      },
      {
        name: 'condition returns true after certain attempts with zero duration',
        steps: 5,
        duration: 0,
        signal: 'default',
        callback: (n) => n === 3,
        attempts: 3,
        want: 'resolved',
      },
    ];

    it.each(rows.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const cancelReason = new Error('canceled');
      if (row.signal === 'canceled') controller.abort(cancelReason);
      if (row.signal === 'deadlined') {
        controller.abort(new DOMException('The operation timed out', 'TimeoutError'));
      }
      const c = recorder(clock, (attempt) => {
        try {
          return row.callback(attempt);
        } finally {
          if (attempt === row.cancelAfter) controller.abort(cancelReason);
        }
      });
      const backoff: BackoffOptions = { duration: row.duration ?? 1, factor: 1, steps: row.steps };
      const outcome = observe(
        exponentialBackoff(backoff, c.condition, { clock, signal: controller.signal }),
        clock,
      );
      await clock.advance(1_000);

      expect(c.times).toHaveLength(row.attempts);
      // Sleeps of `duration` between calls: 0, 1, 2, ... (all 0 with zero duration).
      expect(c.times).toEqual(c.times.map((_t, i) => i * (row.duration ?? 1)));
      switch (row.want) {
        case 'resolved':
          expect(outcome.state).toBe('resolved');
          break;
        case 'timeout':
          expect(outcome.state).toBe('rejected');
          expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
          break;
        case 'conditionErr':
          expect(outcome.state).toBe('rejected');
          expect(outcome.error).toBe(conditionErr);
          break;
        case 'reason':
          expect(outcome.state).toBe('rejected');
          expect(outcome.error).toBe(controller.signal.reason);
          break;
      }
      expect(clock.pendingTimers).toBe(0);
    });

    it('a canceled signal rejects without advancing time', async () => {
      const clock = new FakeClock();
      const reason = new Error('stop');
      const c = recorder(clock, never);
      const outcome = observe(
        exponentialBackoff({ duration: 1, factor: 1, steps: 5 }, c.condition, {
          clock,
          signal: AbortSignal.abort(reason),
        }),
        clock,
      );
      await clock.flush();
      expect(outcome).toEqual({ state: 'rejected', error: reason, at: 0 });
      expect(c.times).toEqual([]);
      expect(clock.pendingTimers).toBe(0);
    });

    it('the abort reason may be any value, passed through as is', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const c = recorder(clock, (n) => {
        if (n === 2) controller.abort('just a string');
        return false;
      });
      const outcome = observe(
        exponentialBackoff({ duration: 1, factor: 1, steps: 5 }, c.condition, {
          clock,
          signal: controller.signal,
        }),
        clock,
      );
      await clock.advance(100);
      expect(outcome.error).toBe('just a string');
      expect(c.times).toHaveLength(2);
    });
  });

  describe('sleeps come from Backoff.step()', () => {
    it('{10, x2, steps 4}: calls at 0, 10, 30, 70, then rejects at 70 without a 4th sleep', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, never);
      const outcome = observe(
        exponentialBackoff({ duration: 10, factor: 2, steps: 4 }, c.condition, { clock }),
        clock,
      );
      await clock.advance(69);
      expect(c.times).toEqual([0, 10, 30]);
      expect(outcome.state).toBe('pending');
      await clock.advance(1);
      expect(c.times).toEqual([0, 10, 30, 70]);
      expect(outcome.state).toBe('rejected');
      expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
      expect(outcome.at).toBe(70);
      expect(clock.pendingTimers).toBe(0);
    });

    it('the first call is at once, without a wait', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, () => true);
      const outcome = observe(
        exponentialBackoff({ duration: 1_000, factor: 2, steps: 4 }, c.condition, { clock }),
        clock,
      );
      await clock.flush();
      expect(c.times).toEqual([0]);
      expect(outcome).toEqual({ state: 'resolved', at: 0 });
    });

    it('accepts duration strings', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, never);
      const outcome = observe(
        exponentialBackoff({ duration: '1s', factor: 1.5, steps: 3 }, c.condition, { clock }),
        clock,
      );
      await clock.advance('10s');
      expect(c.times).toEqual([0, 1_000, 2_500]);
      expect(outcome.state).toBe('rejected');
    });

    it('jitter applies to each sleep and does not compound', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, never);
      const outcome = observe(
        exponentialBackoff({ duration: 10, factor: 2, steps: 4, jitter: 1 }, c.condition, {
          clock,
          random: () => 0.5,
        }),
        clock,
      );
      await clock.advance(1_000);
      // Sleeps 15, 30, 60 (base 10, 20, 40, each x1.5).
      expect(c.times).toEqual([0, 15, 45, 105]);
      expect(outcome.state).toBe('rejected');
    });

    it("does not change the caller's backoff options (Go passes Backoff by value)", async () => {
      const clock = new FakeClock();
      const options: BackoffOptions = { duration: 10, factor: 2, steps: 4, cap: 100 };
      const snapshot = { ...options };
      const outcome = observe(
        exponentialBackoff(options, () => false, { clock }),
        clock,
      );
      await clock.advance(1_000);
      expect(outcome.state).toBe('rejected');
      expect(options).toEqual(snapshot);
    });

    it('an async condition is awaited: the next sleep starts when it settles', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, async (n) => {
        await sleep(clock, 5);
        return n === 3;
      });
      const outcome = observe(
        exponentialBackoff({ duration: 10, factor: 1, steps: 5 }, c.condition, { clock }),
        clock,
      );
      await clock.advance(1_000);
      expect(c.times).toEqual([0, 15, 30]);
      expect(outcome).toEqual({ state: 'resolved', at: 35 });
    });
  });

  describe('cap', () => {
    it('{1, x2, steps 5, cap 3}: 2 calls, then rejects after sleeping 2 without a 3rd call', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, never);
      const outcome = observe(
        exponentialBackoff({ duration: 1, factor: 2, steps: 5, cap: 3 }, c.condition, { clock }),
        clock,
      );
      await clock.advance(1);
      expect(c.times).toEqual([0, 1]);
      await clock.advance(1.5);
      expect(outcome.state).toBe('pending');
      await clock.advance(0.5);
      expect(outcome.state).toBe('rejected');
      expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
      expect(outcome.at).toBe(3);
      await clock.advance(100);
      expect(c.times).toEqual([0, 1]);
      expect(clock.pendingTimers).toBe(0);
    });

    it('a condition that turns true after the cap was hit is never asked', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, (n) => n >= 3);
      const outcome = observe(
        exponentialBackoff({ duration: 1, factor: 2, steps: 5, cap: 3 }, c.condition, { clock }),
        clock,
      );
      await clock.advance(100);
      expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
      expect(c.times).toHaveLength(2);
    });
  });

  describe('steps 0', () => {
    it.each([0, -1])(
      'steps %p rejects without calling, even with an aborted signal',
      async (steps) => {
        const clock = new FakeClock();
        const c = recorder(clock, () => true);
        const outcome = observe(
          exponentialBackoff({ duration: 1, factor: 1, steps }, c.condition, {
            clock,
            signal: AbortSignal.abort(new Error('aborted')),
          }),
          clock,
        );
        await clock.flush();
        expect(outcome.state).toBe('rejected');
        expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
        expect(isInterrupted(outcome.error)).toBe(true);
        expect(c.times).toEqual([]);
        expect(clock.pendingTimers).toBe(0);
      },
    );
  });

  describe('abort', () => {
    it('during a sleep: rejects with signal.reason at once and leaves no timer', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const reason = new Error('shutting down');
      const c = recorder(clock, never);
      const outcome = observe(
        exponentialBackoff({ duration: 100, factor: 1, steps: 5 }, c.condition, {
          clock,
          signal: controller.signal,
        }),
        clock,
      );
      await clock.advance(50);
      expect(outcome.state).toBe('pending');
      controller.abort(reason);
      await clock.flush();
      expect(outcome).toEqual({ state: 'rejected', error: reason, at: 50 });
      expect(clock.pendingTimers).toBe(0);
      await clock.advance(1_000);
      expect(c.times).toEqual([0]);
    });

    it('during a call: ctx.signal aborts, the call is awaited, then rejects with the reason', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const reason = new Error('shutting down');
      const seen: boolean[] = [];
      const c = recorder(clock, async (_n, ctx) => {
        await sleep(clock, 30);
        seen.push(ctx.signal.aborted);
        return false;
      });
      const outcome = observe(
        exponentialBackoff({ duration: 100, factor: 1, steps: 5 }, c.condition, {
          clock,
          signal: controller.signal,
        }),
        clock,
      );
      await clock.advance(10);
      controller.abort(reason);
      await clock.flush();
      expect(outcome.state).toBe('pending');
      await clock.advance(20);
      expect(seen).toEqual([true]);
      expect(outcome).toEqual({ state: 'rejected', error: reason, at: 30 });
      expect(c.times).toEqual([0]);
      expect(clock.pendingTimers).toBe(0);
    });

    it('during a call that then returns true: resolves (the result is checked first, as in Go)', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const c = recorder(clock, async () => {
        await sleep(clock, 30);
        return true;
      });
      const outcome = observe(
        exponentialBackoff({ duration: 100, factor: 1, steps: 5 }, c.condition, {
          clock,
          signal: controller.signal,
        }),
        clock,
      );
      await clock.advance(10);
      controller.abort(new Error('late'));
      await clock.advance(20);
      expect(outcome).toEqual({ state: 'resolved', at: 30 });
    });

    it('passes the caller signal to the condition as ctx.signal', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const c = recorder(clock, () => true);
      await exponentialBackoff({ duration: 1, steps: 2 }, c.condition, {
        clock,
        signal: controller.signal,
      });
      expect(c.signals).toEqual([controller.signal]);
    });

    it('without a signal, ctx.signal is one that has not aborted', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, () => true);
      await exponentialBackoff({ duration: 1, steps: 2 }, c.condition, { clock });
      expect(c.signals[0]).toBeInstanceOf(AbortSignal);
      expect(c.signals[0].aborted).toBe(false);
    });
  });

  describe('condition errors', () => {
    it.each<[string, unknown]>([
      ['an Error', new Error('boom')],
      ['a string', 'boom'],
      ['undefined', undefined],
      ['an object', { code: 42 }],
    ])('a thrown %s rejects with that identical value', async (_name, thrown) => {
      const clock = new FakeClock();
      const c = recorder(clock, () => {
        throw thrown;
      });
      const outcome = observe(
        exponentialBackoff({ duration: 1, factor: 1, steps: 5 }, c.condition, { clock }),
        clock,
      );
      await clock.advance(100);
      expect(outcome.state).toBe('rejected');
      expect(outcome.error).toBe(thrown);
      expect(c.times).toHaveLength(1);
    });

    it('a rejected promise rejects with that identical error, after a later attempt', async () => {
      const clock = new FakeClock();
      const error = new Error('async boom');
      const c = recorder(clock, async (n) => {
        if (n === 3) throw error;
        return false;
      });
      const outcome = observe(
        exponentialBackoff({ duration: 1, factor: 1, steps: 5 }, c.condition, { clock }),
        clock,
      );
      await clock.advance(100);
      expect(outcome.error).toBe(error);
      expect(c.times).toEqual([0, 1, 2]);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('bad input throws synchronously naming exponentialBackoff()', () => {
    const ok = () => true;
    it.each<[string, () => unknown, ErrorConstructor]>([
      ['backoff null', () => exponentialBackoff(null as never, ok), TypeError],
      ['backoff.duration -1', () => exponentialBackoff({ duration: -1, steps: 1 }, ok), RangeError],
      ['backoff.duration "soon"', () => exponentialBackoff({ duration: 'soon' }, ok), TypeError],
      [
        'backoff.factor NaN',
        () => exponentialBackoff({ duration: 1, factor: NaN }, ok),
        RangeError,
      ],
      ['backoff.steps 2.5', () => exponentialBackoff({ duration: 1, steps: 2.5 }, ok), RangeError],
      [
        'condition missing',
        () => exponentialBackoff({ duration: 1, steps: 1 }, undefined as never),
        TypeError,
      ],
      [
        'condition a boolean',
        () => exponentialBackoff({ duration: 1, steps: 1 }, true as never),
        TypeError,
      ],
      [
        'options null',
        () => exponentialBackoff({ duration: 1, steps: 1 }, ok, null as never),
        TypeError,
      ],
      [
        'options.signal not an AbortSignal',
        () => exponentialBackoff({ duration: 1, steps: 1 }, ok, { signal: 'stop' as never }),
        TypeError,
      ],
      [
        'options.clock incomplete',
        () =>
          exponentialBackoff({ duration: 1, steps: 1 }, ok, { clock: { now: () => 0 } as never }),
        TypeError,
      ],
      [
        'options.random not a function',
        () => exponentialBackoff({ duration: 1, steps: 1 }, ok, { random: 0.5 as never }),
        TypeError,
      ],
    ])('%s', (_name, call, type) => {
      expect(call).toThrow(type);
      expect(call).toThrow('exponentialBackoff()');
    });

    it('a bad condition throws even with steps 0 (checked before anything runs)', () => {
      expect(() => exponentialBackoff({ duration: 1, steps: 0 }, 'x' as never)).toThrow(TypeError);
    });

    it('never calls the condition when an argument is bad', () => {
      const condition = jest.fn(() => true);
      expect(() =>
        exponentialBackoff({ duration: 1, steps: 3 }, condition, { clock: {} as never }),
      ).toThrow(TypeError);
      expect(condition).not.toHaveBeenCalled();
    });
  });
});
