import {
  type Clock,
  toMillis,
  type Duration,
  checkFunction,
  checkNonNegative,
} from '../wait/internal.js';
import { testingMessages } from './testing.messages.js';

interface FakeTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

// Captured at import so that Jest's or Sinon's fake timers, installed later, cannot stall flush().
const settleTurn: typeof setImmediate = globalThis.setImmediate;

/**
 * A {@link Clock} whose time moves only when a test says so. Pass it as `clock` to any loop
 * function (or to `WaitModule.forRoot({ clock })`) and step time with {@link FakeClock.advance}:
 * timers fire in due order (equal due times in the order they were set), and pending promise
 * callbacks settle after each one, so an async loop body can be followed step by step.
 */
export class FakeClock implements Clock {
  private time: number;
  private lastId = 0;
  private readonly timers = new Map<number, FakeTimer>();

  /** @param start - the initial time in milliseconds. Default 0. */
  constructor(start = 0) {
    this.time = checkNonNegative(start, 'new FakeClock()', 'start');
  }

  /** The fake time in milliseconds. */
  now(): number {
    return this.time;
  }

  /** Arms a fake timer; a negative or `NaN` delay counts as 0. Returns its numeric id. */
  setTimeout(fn: () => void, ms: number): number {
    checkFunction(fn, 'FakeClock.setTimeout()', 'fn');
    const delay = ms > 0 ? ms : 0;
    const id = ++this.lastId;
    this.timers.set(id, { id, due: this.time + delay, fn });
    return id;
  }

  /** Cancels a fake timer; unknown handles are ignored. */
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** How many timers are armed: 0 once every loop on this clock has settled. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** When the next timer fires, or `undefined` when none is armed. */
  nextTimerAt(): number | undefined {
    return this.earliest()?.due;
  }

  /**
   * Moves time forward by `ms` (a {@link Duration}), firing every timer that falls due on the way,
   * at its due time, and letting promise callbacks settle after each.
   */
  async advance(ms: Duration): Promise<void> {
    const target = this.time + toMillis(ms, 'FakeClock.advance()', 'ms');
    await this.flush();
    for (;;) {
      const timer = this.earliest();
      if (timer === undefined || timer.due > target) break;
      this.timers.delete(timer.id);
      if (timer.due > this.time) this.time = timer.due;
      timer.fn();
      await this.flush();
    }
    this.time = target;
    await this.flush();
  }

  /** Moves time to the next timer and fires it (and any due with it). Resolves false when none. */
  async runNext(): Promise<boolean> {
    await this.flush();
    const next = this.earliest();
    if (next === undefined) return false;
    await this.advance(Math.max(0, next.due - this.time));
    return true;
  }

  /**
   * Fires timers one at a time, moving time to each, until `promise` settles; returns what it
   * resolved with (or rejects with its error). For calls that wait on work which waits on this
   * clock, like `app.close()` while a loop's run sleeps on it. Rejects with an `Error` instead
   * of hanging when no timer is left and the promise is still pending, or after `maxTimers`.
   *
   * @param maxTimers - how many timers to fire at most. Default 100,000.
   */
  async runUntil<T>(promise: Promise<T>, maxTimers = 100_000): Promise<T> {
    let settled = false;
    const watched = promise.then(
      (value) => ((settled = true), value),
      (error: unknown) => {
        settled = true;
        throw error;
      },
    );
    watched.catch(() => undefined); // reported through the returned promise
    await this.flush();
    for (let fired = 0; !settled; fired++) {
      if (fired >= maxTimers || !(await this.runNext())) {
        if (settled) break;
        throw new Error(
          fired >= maxTimers
            ? testingMessages.runUntilTimers(maxTimers)
            : testingMessages.runUntilNoTimer,
        );
      }
    }
    return watched;
  }

  /** Lets every pending promise callback run, without moving time. */
  flush(): Promise<void> {
    return new Promise((resolve) => settleTurn(resolve));
  }

  private earliest(): FakeTimer | undefined {
    let first: FakeTimer | undefined;
    // Map iteration follows insertion, so the first of equal due times wins: FIFO like Node.
    for (const timer of this.timers.values())
      if (first === undefined || timer.due < first.due) first = timer;
    return first;
  }
}
