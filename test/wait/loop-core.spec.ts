/*
 * The loop core's edge cases: loops started inside a run, aborts it did not hear of, thenables
 * that misbehave. Found by mutating the core: the mutant each one kills is in the comment above
 * it.
 */
import { jest } from '@jest/globals';
import { backoffUntil, until } from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { sleep, track } from '../support/helpers.js';

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
