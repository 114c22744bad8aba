/*
 * poll(): Go's wait.PollUntilContextTimeout / PollUntilContextCancel.
 *
 * Ports (k8s.io/apimachinery/pkg/util/wait/loop_test.go; Go has no poll_test.go and no test calls
 * PollUntilContext* directly, they are thin wrappers over loopConditionUntilContext):
 * - Test_loopConditionUntilContext_semantic: every non-sliding row (poll is always non-sliding with
 *   a fixed interval), including "immediate, long condition, sliding false" (4 calls at 0, 200,
 *   400, 600 within a 1s timeout). Context errors become the abort signal's reason;
 *   context.DeadlineExceeded from the timeout becomes WaitTimeoutError. Go's (true, err) rows
 *   become a thrown error, since a TypeScript condition cannot both return and throw.
 * - Test_loopConditionWithContextImmediateDelay: not immediate means one full interval before the
 *   first call (nothing at interval - 1, one call at interval).
 * - Test_loopConditionUntilContext_Elapsed (fixedTimer case): a fast condition is called at exact
 *   multiples of the interval, true on attempt 10.
 * Plus the rest of DESIGN.md §3 "poll": in-flight calls at the deadline, ctx.signal, no timers
 * left behind, and bad input.
 */
import { jest } from '@jest/globals';
import {
  isInterrupted,
  poll,
  WaitTimeoutError,
  type Clock,
  type ConditionFn,
  type PollOptions,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { observe, recorder, sleep, track } from '../support/helpers.js';

describe('poll()', () => {
  describe('Test_loopConditionUntilContext_semantic (non-sliding rows)', () => {
    type SignalKind = 'default' | 'canceled' | 'deadlined';
    type Want = 'resolved' | 'conditionErr' | 'reason';
    interface Row {
      name: string;
      immediate: boolean;
      signal: SignalKind;
      callback: (attempt: number) => boolean | Promise<boolean>; // may throw or reject conditionErr
      cancelAfter?: number;
      attempts: number;
      want: Want;
    }
    const conditionErr = new Error('condition failed');
    const fail = () => {
      throw conditionErr;
    };
    const rows: Row[] = [
      {
        name: 'condition successful is only one attempt',
        immediate: false,
        signal: 'default',
        callback: () => true,
        attempts: 1,
        want: 'resolved',
      },
      {
        name: 'delayed condition successful causes return and attempts',
        immediate: false,
        signal: 'default',
        callback: (n) => n > 1,
        attempts: 2,
        want: 'resolved',
      },
      {
        name: 'delayed condition successful causes return and attempts many times',
        immediate: false,
        signal: 'default',
        callback: (n) => n >= 100,
        attempts: 100,
        want: 'resolved',
      },
      {
        name: 'condition returns error even if ok is true (thrown)',
        immediate: false,
        signal: 'default',
        callback: fail,
        attempts: 1,
        want: 'conditionErr',
      },
      {
        name: 'condition exits after an error (rejected)',
        immediate: false,
        signal: 'default',
        callback: () => Promise.reject(conditionErr),
        attempts: 1,
        want: 'conditionErr',
      },
      {
        name: 'context.Canceled before the first attempt: no attempts',
        immediate: false,
        signal: 'canceled',
        callback: () => false,
        attempts: 0,
        want: 'reason',
      },
      {
        name: 'context.Canceled, immediate, condition true: one attempt, resolves',
        immediate: true,
        signal: 'canceled',
        callback: () => true,
        attempts: 1,
        want: 'resolved',
      },
      {
        name: 'context.Canceled, immediate, condition error: one attempt, its error',
        immediate: true,
        signal: 'canceled',
        callback: fail,
        attempts: 1,
        want: 'conditionErr',
      },
      {
        name: 'context.Canceled, immediate, condition false: one attempt, the reason',
        immediate: true,
        signal: 'canceled',
        callback: () => false,
        attempts: 1,
        want: 'reason',
      },
      {
        name: 'context.Canceled after 5 attempts',
        immediate: false,
        signal: 'default',
        callback: () => false,
        cancelAfter: 5,
        attempts: 5,
        want: 'reason',
      },
      {
        name: 'context.Canceled after 5 attempts, immediate',
        immediate: true,
        signal: 'default',
        callback: () => false,
        cancelAfter: 5,
        attempts: 5,
        want: 'reason',
      },
      {
        name: 'context.DeadlineExceeded, immediate: one attempt',
        immediate: true,
        signal: 'deadlined',
        callback: () => false,
        attempts: 1,
        want: 'reason',
      },
      {
        name: 'context.DeadlineExceeded, not immediate: no attempts',
        immediate: false,
        signal: 'deadlined',
        callback: () => false,
        attempts: 0,
        want: 'reason',
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
      const interval = 10;
      const outcome = observe(
        poll(c.condition, { interval, immediate: row.immediate, signal: controller.signal, clock }),
        clock,
      );
      await clock.advance(interval * 200);

      expect(c.times).toHaveLength(row.attempts);
      const first = row.immediate ? 0 : interval;
      expect(c.times).toEqual(c.times.map((_t, i) => first + i * interval));
      switch (row.want) {
        case 'resolved':
          expect(outcome.state).toBe('resolved');
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

    it('context canceled before the second execution, immediate: timeout 1000, interval 2000', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, () => false);
      const outcome = observe(
        poll(c.condition, { interval: 2_000, timeout: 1_000, immediate: true, clock }),
        clock,
      );
      await clock.advance(5_000);
      expect(c.times).toEqual([0]);
      expect(outcome.state).toBe('rejected');
      expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
      expect(outcome.at).toBe(1_000);
      expect(isInterrupted(outcome.error)).toBe(true);
      expect(clock.pendingTimers).toBe(0);
    });

    it('immediate, long condition, non-sliding: 4 calls at 0, 200, 400, 600 within a 1s timeout', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, async (attempt) => {
        if (attempt >= 4) return true;
        await sleep(clock, 200);
        return false;
      });
      const outcome = observe(
        poll(c.condition, { interval: 200, timeout: 1_000, immediate: true, clock }),
        clock,
      );
      await clock.advance(1_000);
      expect(c.times).toEqual([0, 200, 400, 600]);
      expect(outcome).toEqual({ state: 'resolved', at: 600 });
      expect(clock.pendingTimers).toBe(0);
    });

    it('the same with duration strings', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, async (attempt) => {
        if (attempt >= 4) return true;
        await sleep(clock, 200);
        return false;
      });
      const outcome = observe(
        poll(c.condition, { interval: '200ms', timeout: '1s', immediate: true, clock }),
        clock,
      );
      await clock.advance('1s');
      expect(c.times).toEqual([0, 200, 400, 600]);
      expect(outcome.state).toBe('resolved');
    });
  });

  describe('cadence', () => {
    it('Test_loopConditionWithContextImmediateDelay: not immediate waits one interval first', async () => {
      const clock = new FakeClock();
      const expectedError = new Error('expected');
      const c = recorder(clock, () => {
        throw expectedError;
      });
      const outcome = observe(poll(c.condition, { interval: 1_000, clock }), clock);
      await clock.advance(999);
      expect(c.times).toEqual([]);
      expect(outcome.state).toBe('pending');
      await clock.advance(1);
      expect(c.times).toEqual([1_000]);
      expect(outcome).toEqual({ state: 'rejected', error: expectedError, at: 1_000 });
    });

    it('Test_loopConditionUntilContext_Elapsed: true on attempt 10 at exactly 10 intervals', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, (attempt) => {
        if (attempt > 10) throw new Error('called more than 10 times');
        return attempt === 10;
      });
      const outcome = observe(poll(c.condition, { interval: 1, clock }), clock);
      await clock.advance(100);
      expect(outcome).toEqual({ state: 'resolved', at: 10 });
      expect(c.times).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    it('a fast condition is called at exact multiples of the interval', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const c = recorder(clock, () => false);
      const outcome = observe(
        poll(c.condition, { interval: 100, signal: controller.signal, clock }),
        clock,
      );
      await clock.advance(1_000);
      expect(c.times).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000]);
      controller.abort();
      await clock.flush();
      expect(outcome.state).toBe('rejected');
      expect(clock.pendingTimers).toBe(0);
    });

    it('immediate: calls at 0 and then every interval', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, async () => false);
      const outcome = observe(
        poll(c.condition, { interval: 100, timeout: 450, immediate: true, clock }),
        clock,
      );
      await clock.advance(1_000);
      expect(c.times).toEqual([0, 100, 200, 300, 400]);
      expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
    });

    it('timer lateness does not accumulate (beyond Go: absolute targets)', async () => {
      const fake = new FakeClock();
      // Every timer fires 1 ms after it is due, as Node's often do.
      const late: Clock = {
        now: () => fake.now(),
        setTimeout: (fn, ms) => fake.setTimeout(fn, ms + 1),
        clearTimeout: (handle) => fake.clearTimeout(handle),
      };
      const controller = new AbortController();
      const c = recorder(fake, () => false);
      const outcome = observe(
        poll(c.condition, { interval: 100, signal: controller.signal, clock: late }),
        fake,
      );
      await fake.advance(501);
      // Relative waits would drift: 101, 202, 303, 404, 505.
      expect(c.times).toEqual([101, 201, 301, 401, 501]);
      controller.abort();
      await fake.flush();
      expect(outcome.state).toBe('rejected');
      expect(fake.pendingTimers).toBe(0);
    });

    it("non-sliding: the interval includes the condition's run time", async () => {
      const clock = new FakeClock();
      const c = recorder(clock, async () => {
        await sleep(clock, 50);
        return false;
      });
      const outcome = observe(poll(c.condition, { interval: 100, timeout: 380, clock }), clock);
      await clock.advance(1_000);
      // Sliding would give 100, 250; non-sliding keeps 100, 200, 300.
      expect(c.times).toEqual([100, 200, 300]);
      expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
    });

    it('a condition slower than the interval is followed at once by the next call', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const c = recorder(clock, async () => {
        await sleep(clock, 300);
        return false;
      });
      const outcome = observe(
        poll(c.condition, { interval: 200, immediate: true, signal: controller.signal, clock }),
        clock,
      );
      await clock.advance(1_300);
      expect(c.times).toEqual([0, 300, 600, 900, 1_200]);
      controller.abort();
      await clock.advance(1_000);
      expect(c.times).toHaveLength(5);
      expect(outcome).toMatchObject({ state: 'rejected', at: 1_500 });
    });

    it('never overlaps two calls', async () => {
      const clock = new FakeClock();
      let inFlight = 0;
      let most = 0;
      const c = recorder(clock, async (attempt) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await sleep(clock, attempt % 2 === 0 ? 250 : 10);
        inFlight--;
        return attempt === 8;
      });
      const outcome = observe(poll(c.condition, { interval: 100, clock }), clock);
      await clock.advance(5_000);
      expect(outcome.state).toBe('resolved');
      expect(c.times).toHaveLength(8);
      expect(most).toBe(1);
    });

    it('without a timeout it never times out', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const c = recorder(clock, () => false);
      const outcome = observe(
        poll(c.condition, { interval: 1_000, signal: controller.signal, clock }),
        clock,
      );
      await clock.advance(100_000);
      expect(outcome.state).toBe('pending');
      expect(c.times).toHaveLength(100);
      controller.abort();
      await clock.flush();
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('timeout', () => {
    it('rejects with WaitTimeoutError at the deadline; isInterrupted() is true', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, () => false);
      const outcome = observe(poll(c.condition, { interval: 100, timeout: 350, clock }), clock);
      await clock.advance(349);
      expect(outcome.state).toBe('pending');
      await clock.advance(1);
      expect(outcome.state).toBe('rejected');
      expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
      expect((outcome.error as Error).message).toBe('timed out waiting for the condition');
      expect(isInterrupted(outcome.error)).toBe(true);
      expect(outcome.at).toBe(350);
      expect(c.times).toEqual([100, 200, 300]);
      expect(clock.pendingTimers).toBe(0);
      await clock.advance(1_000);
      expect(c.times).toHaveLength(3);
    });

    it('timeout 0, not immediate: no attempts', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, () => true);
      const outcome = observe(poll(c.condition, { interval: 10, timeout: 0, clock }), clock);
      await clock.advance(100);
      expect(c.times).toEqual([]);
      expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
      expect(clock.pendingTimers).toBe(0);
    });

    it('timeout 0, immediate: exactly one attempt, whose true still wins', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, () => true);
      const outcome = observe(
        poll(c.condition, { interval: 10, timeout: 0, immediate: true, clock }),
        clock,
      );
      await clock.advance(100);
      expect(c.times).toEqual([0]);
      expect(outcome.state).toBe('resolved');
    });

    it('a call in flight at the deadline sees ctx.signal abort with a WaitTimeoutError, and its true wins', async () => {
      const clock = new FakeClock();
      const seen: unknown[] = [];
      const c = recorder(clock, async (_attempt, ctx) => {
        await sleep(clock, 100);
        seen.push(ctx.signal.aborted, ctx.signal.reason);
        return true;
      });
      const outcome = observe(poll(c.condition, { interval: 100, timeout: 150, clock }), clock);
      await clock.advance(150);
      expect(c.signals[0].aborted).toBe(true);
      expect(c.signals[0].reason).toBeInstanceOf(WaitTimeoutError);
      expect(outcome.state).toBe('pending'); // the call in flight is waited for
      await clock.advance(50);
      expect(seen[0]).toBe(true);
      expect(seen[1]).toBeInstanceOf(WaitTimeoutError);
      expect(outcome).toEqual({ state: 'resolved', at: 200 });
      expect(clock.pendingTimers).toBe(0);
    });

    it('a call in flight at the deadline that returns false: WaitTimeoutError when it settles, no more calls', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, async () => {
        await sleep(clock, 100);
        return false;
      });
      const outcome = observe(poll(c.condition, { interval: 100, timeout: 150, clock }), clock);
      await clock.advance(1_000);
      expect(outcome.state).toBe('rejected');
      expect(outcome.error).toBeInstanceOf(WaitTimeoutError);
      expect(outcome.at).toBe(200);
      expect(c.times).toEqual([100]);
      expect(clock.pendingTimers).toBe(0);
    });

    it('a condition error wins over the deadline', async () => {
      const clock = new FakeClock();
      const error = new Error('late failure');
      const c = recorder(clock, async () => {
        await sleep(clock, 100);
        throw error;
      });
      const outcome = observe(poll(c.condition, { interval: 100, timeout: 150, clock }), clock);
      await clock.advance(1_000);
      expect(outcome.error).toBe(error);
    });

    it('a caller abort before the deadline rejects with the caller reason, not a timeout', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      const outcome = observe(
        poll(() => false, { interval: 100, timeout: 1_000, signal: controller.signal, clock }),
        clock,
      );
      await clock.advance(250);
      controller.abort(reason);
      await clock.flush();
      expect(outcome).toEqual({ state: 'rejected', error: reason, at: 250 });
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('abort', () => {
    it('during a wait: rejects with signal.reason at once and leaves no timer', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const reason = new Error('shutting down');
      const c = recorder(clock, () => false);
      const outcome = observe(
        poll(c.condition, { interval: 100, signal: controller.signal, clock }),
        clock,
      );
      await clock.advance(150);
      controller.abort(reason);
      await clock.flush();
      expect(outcome).toEqual({ state: 'rejected', error: reason, at: 150 });
      expect(clock.pendingTimers).toBe(0);
      await clock.advance(1_000);
      expect(c.times).toEqual([100]);
    });

    it('before the first (non-immediate) call: rejects at once', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const c = recorder(clock, () => true);
      const outcome = observe(
        poll(c.condition, { interval: 100, timeout: 500, signal: controller.signal, clock }),
        clock,
      );
      await clock.advance(50);
      controller.abort('stop');
      await clock.flush();
      expect(outcome).toEqual({ state: 'rejected', error: 'stop', at: 50 });
      expect(c.times).toEqual([]);
      expect(clock.pendingTimers).toBe(0);
    });

    it('an already aborted signal, not immediate: rejects without advancing time', async () => {
      const clock = new FakeClock();
      const reason = new Error('gone');
      const c = recorder(clock, () => true);
      const outcome = observe(
        poll(c.condition, {
          interval: 100,
          timeout: 500,
          signal: AbortSignal.abort(reason),
          clock,
        }),
        clock,
      );
      await clock.flush();
      expect(outcome).toEqual({ state: 'rejected', error: reason, at: 0 });
      expect(c.times).toEqual([]);
      expect(clock.pendingTimers).toBe(0);
    });

    it("during a call: ctx.signal aborts with the caller's reason; the call's true still wins", async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const reason = new Error('late');
      const c = recorder(clock, async () => {
        await sleep(clock, 50);
        return true;
      });
      const outcome = observe(
        poll(c.condition, { interval: 100, signal: controller.signal, clock }),
        clock,
      );
      await clock.advance(120);
      controller.abort(reason);
      await clock.flush();
      expect(c.signals[0].aborted).toBe(true);
      expect(c.signals[0].reason).toBe(reason);
      expect(outcome.state).toBe('pending');
      await clock.advance(30);
      expect(outcome).toEqual({ state: 'resolved', at: 150 });
      expect(clock.pendingTimers).toBe(0);
    });

    it('during a call that returns false: rejects with the reason when it settles', async () => {
      const clock = new FakeClock();
      const controller = new AbortController();
      const reason = new Error('late');
      const c = recorder(clock, async () => {
        await sleep(clock, 50);
        return false;
      });
      const outcome = observe(
        poll(c.condition, { interval: 100, signal: controller.signal, clock }),
        clock,
      );
      await clock.advance(120);
      controller.abort(reason);
      await clock.advance(1_000);
      expect(outcome).toEqual({ state: 'rejected', error: reason, at: 150 });
      expect(c.times).toEqual([100]);
    });

    it('ctx.signal has not aborted while the wait goes on', async () => {
      const clock = new FakeClock();
      const c = recorder(clock, (attempt, ctx) => {
        expect(ctx.signal.aborted).toBe(false);
        return attempt === 3;
      });
      const outcome = observe(
        poll(c.condition, {
          interval: 10,
          timeout: 100,
          signal: new AbortController().signal,
          clock,
        }),
        clock,
      );
      await clock.advance(100);
      expect(outcome.state).toBe('resolved');
      expect(c.signals).toHaveLength(3);
    });
  });

  describe('condition errors', () => {
    it.each<[string, unknown]>([
      ['an Error', new Error('boom')],
      ['a string', 'boom'],
      ['null', null],
      ['an object', { code: 'E_FAIL' }],
    ])('a thrown %s rejects with that identical value', async (_name, thrown) => {
      const clock = new FakeClock();
      const c = recorder(clock, () => {
        throw thrown;
      });
      const outcome = observe(poll(c.condition, { interval: 10, timeout: 100, clock }), clock);
      await clock.advance(100);
      expect(outcome.state).toBe('rejected');
      expect(outcome.error).toBe(thrown);
      expect(c.times).toEqual([10]);
      expect(clock.pendingTimers).toBe(0);
    });

    it.each<[string, unknown]>([
      ['an Error', new Error('async boom')],
      ['a string', 'async boom'],
    ])('a rejected %s rejects with that identical value', async (_name, rejected) => {
      const clock = new FakeClock();
      const c = recorder(clock, async (attempt) => {
        if (attempt === 2) throw rejected;
        return false;
      });
      const outcome = observe(
        poll(c.condition, { interval: 10, immediate: true, timeout: 100, clock }),
        clock,
      );
      await clock.advance(100);
      expect(outcome.error).toBe(rejected);
      expect(c.times).toEqual([0, 10]);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('bad input throws synchronously naming poll()', () => {
    const ok = () => true;
    it.each<[string, () => unknown, ErrorConstructor]>([
      ['condition missing', () => poll(undefined as never, { interval: 10 }), TypeError],
      ['condition a string', () => poll('true' as never, { interval: 10 }), TypeError],
      ['options missing', () => poll(ok, undefined as never), TypeError],
      ['options null', () => poll(ok, null as never), TypeError],
      ['interval missing', () => poll(ok, {} as PollOptions), TypeError],
      ['interval -1', () => poll(ok, { interval: -1 }), RangeError],
      ['interval NaN', () => poll(ok, { interval: NaN }), RangeError],
      ['interval Infinity', () => poll(ok, { interval: Infinity }), RangeError],
      ['interval "abc"', () => poll(ok, { interval: 'abc' }), TypeError],
      ['interval "-1s"', () => poll(ok, { interval: '-1s' }), RangeError],
      ['timeout -1', () => poll(ok, { interval: 10, timeout: -1 }), RangeError],
      ['timeout "5"', () => poll(ok, { interval: 10, timeout: '5' }), TypeError],
      [
        'signal not an AbortSignal',
        () => poll(ok, { interval: 10, signal: {} as never }),
        TypeError,
      ],
      [
        'clock incomplete',
        () => poll(ok, { interval: 10, clock: { now: () => 0 } as never }),
        TypeError,
      ],
    ])('%s', (_name, call, type) => {
      expect(call).toThrow(type);
      expect(call).toThrow('poll()');
    });

    it('names the value received', () => {
      expect(() => poll(ok, { interval: 'soon' })).toThrow('"soon"');
      expect(() => poll(ok, { interval: 10, timeout: -5 })).toThrow('-5');
    });

    it('never calls the condition and arms no timer when an argument is bad', () => {
      const fake = new FakeClock();
      const condition = jest.fn(() => true);
      expect(() =>
        poll(condition, { interval: 10, timeout: -1, immediate: true, clock: fake }),
      ).toThrow(RangeError);
      expect(() =>
        poll(condition, { interval: 10, timeout: 10, signal: 'x' as never, clock: fake }),
      ).toThrow(TypeError);
      expect(condition).not.toHaveBeenCalled();
      expect(fake.pendingTimers).toBe(0);
    });
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
