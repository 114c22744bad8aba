/*
 * settleWithin() (lib/wait/settle-within.ts), the bounded wait of graceful shutdown, and
 * epochOf() (lib/wait/clock.ts), the wall-clock time of a clock's reading for status pages.
 */
import fc from 'fast-check';
import { realClock, until, type Clock } from '../../lib/index.js';
import { epochOf } from '../../lib/wait/clock.js';
import { settleWithin } from '../../lib/wait/settle-within.js';
import { FakeClock } from '../../lib/testing/index.js';
import { deferred, sleep } from '../support/helpers.js';

/** Follows settleWithin()'s answer without awaiting it: the value and when it came. */
function answer(promise: Promise<boolean>, clock: FakeClock) {
  const state: { value?: boolean; at?: number } = {};
  void promise.then((value) => Object.assign(state, { value, at: clock.now() }));
  return state;
}

describe('settleWithin()', () => {
  it('true as soon as the promise fulfils in time, and its timer is cleared at once', async () => {
    const clock = new FakeClock();
    const result = answer(settleWithin(sleep(clock, 30), 100, clock), clock);
    await clock.advance(29);
    expect(result).toEqual({});
    expect(clock.pendingTimers).toBe(2); // the sleep and the deadline
    await clock.advance(1);
    expect(result).toEqual({ value: true, at: 30 });
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(200);
    expect(result).toEqual({ value: true, at: 30 });
  });

  it('true when the promise rejects in time: no rejection escapes', async () => {
    const clock = new FakeClock();
    const d = deferred();
    const result = answer(settleWithin(d.promise, 100, clock), clock);
    await clock.advance(40);
    d.reject(new Error('late failure'));
    await clock.flush();
    expect(result).toEqual({ value: true, at: 40 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('false exactly when the time runs out; a later settle changes nothing and leaves no timer', async () => {
    const clock = new FakeClock(500);
    const d = deferred();
    const result = answer(settleWithin(d.promise, 100, clock), clock);
    await clock.advance(99);
    expect(result).toEqual({});
    await clock.advance(1);
    expect(result).toEqual({ value: false, at: 600 });
    expect(clock.pendingTimers).toBe(0);
    d.resolve();
    await clock.advance(100);
    expect(result).toEqual({ value: false, at: 600 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('a promise that never settles: false after ms, nothing left behind', async () => {
    const clock = new FakeClock();
    const result = answer(settleWithin(new Promise(() => undefined), 250, clock), clock);
    await clock.advance(1000);
    expect(result).toEqual({ value: false, at: 250 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('ms = 0: true for a promise already settled, false for one still pending', async () => {
    const clock = new FakeClock(7);
    const done = answer(settleWithin(Promise.resolve('x'), 0, clock), clock);
    const failed = answer(settleWithin(Promise.reject(new Error('x')), 0, clock), clock);
    const pending = answer(settleWithin(new Promise(() => undefined), 0, clock), clock);
    await clock.advance(0);
    expect([done, failed, pending]).toEqual([
      { value: true, at: 7 },
      { value: true, at: 7 },
      { value: false, at: 7 },
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('one ms either side of the deadline', async () => {
    const clock = new FakeClock();
    const early = answer(settleWithin(sleep(clock, 99), 100, clock), clock);
    const late = answer(settleWithin(sleep(clock, 101), 100, clock), clock);
    await clock.advance(200);
    expect([early, late]).toEqual([
      { value: true, at: 99 },
      { value: false, at: 100 },
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a deadline beyond the longest timer Node can arm still ends on time', async () => {
    const clock = new FakeClock();
    const ms = 2 ** 31 + 1000;
    const result = answer(settleWithin(new Promise(() => undefined), ms, clock), clock);
    await clock.advance(ms - 1);
    expect(result).toEqual({});
    await clock.advance(1);
    expect(result).toEqual({ value: false, at: ms });
    expect(clock.pendingTimers).toBe(0);
  });

  it('shares the clock\u2019s timer with running loops without disturbing them', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const starts: number[] = [];
    const loop = until(() => void starts.push(clock.now()), 20, controller.signal, { clock });
    const first = answer(settleWithin(sleep(clock, 15), 50, clock), clock);
    const second = answer(settleWithin(new Promise(() => undefined), 45, clock), clock);
    await clock.advance(100);
    controller.abort();
    await loop;
    expect(starts).toEqual([0, 20, 40, 60, 80, 100]);
    expect([first, second]).toEqual([
      { value: true, at: 15 },
      { value: false, at: 45 },
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('property: answers (settle time < ms) at min(settle time, ms), leaving no timer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            settleAt: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
            ms: fc.integer({ min: 0, max: 300 }),
            rejects: fc.boolean(),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        async (cases) => {
          fc.pre(cases.every((c) => c.settleAt !== c.ms));
          const clock = new FakeClock();
          const results = cases.map(({ settleAt, ms, rejects }) => {
            const d = deferred();
            if (settleAt !== undefined) {
              clock.setTimeout(() => (rejects ? d.reject(new Error('no')) : d.resolve()), settleAt);
            }
            return answer(settleWithin(d.promise, ms, clock), clock);
          });
          await clock.advance(400);
          cases.forEach(({ settleAt, ms }, i) => {
            const inTime = settleAt !== undefined && settleAt < ms;
            expect(results[i]).toEqual({ value: inTime, at: inTime ? settleAt : ms });
          });
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 200, interruptAfterTimeLimit: 10_000 },
    );
  });
});

describe('epochOf()', () => {
  it('realClock: performance.timeOrigin + the reading', () => {
    const now = realClock.now();
    expect(epochOf(realClock, now)).toBe(performance.timeOrigin + now);
    expect(epochOf(realClock, 0)).toBe(performance.timeOrigin);
    // And it lands near Date.now() for a reading of now.
    expect(Math.abs(epochOf(realClock, realClock.now()) - Date.now())).toBeLessThan(1000);
  });

  it('any other clock: the reading itself, taken as epoch milliseconds', () => {
    const fake = new FakeClock(Date.UTC(2024, 0, 1));
    expect(epochOf(fake, fake.now())).toBe(Date.UTC(2024, 0, 1));
    expect(new Date(epochOf(new FakeClock(), 0)).toISOString()).toBe('1970-01-01T00:00:00.000Z');
    // A clock that merely wraps realClock's functions is not realClock.
    const wrapper: Clock = {
      now: () => realClock.now(),
      setTimeout: (fn, ms) => realClock.setTimeout(fn, ms),
      clearTimeout: (handle) => realClock.clearTimeout(handle),
    };
    expect(epochOf(wrapper, 1234.5)).toBe(1234.5);
  });
});
