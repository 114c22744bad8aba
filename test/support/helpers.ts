import type { Clock } from '../../lib/index.js';
import type { FakeClock } from '../../lib/testing/index.js';

/** A promise that resolves after `ms` of fake time. */
export function sleep(clock: FakeClock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Tracks whether a promise has settled, and how, without awaiting it. */
export function track<T>(promise: Promise<T>): {
  readonly settled: boolean;
  readonly value?: T;
  readonly error?: unknown;
  readonly rejected: boolean;
} {
  const state: { settled: boolean; value?: T; error?: unknown; rejected: boolean } = {
    settled: false,
    rejected: false,
  };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, rejected: true, error }),
  );
  return state;
}

/**
 * A clock driven synchronously by hand, for tests where only engine code may run between steps
 * (no FakeClock promise flushing) or where a synchronous body must "take" time: set `now`.
 * Holds the one timer the engine's shared queue arms at a time.
 */
export class ManualClock implements Clock {
  now_ = 0;
  private pending: (() => void) | undefined;
  private pendingAt = Infinity;

  now(): number {
    return this.now_;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    this.pending = fn;
    this.pendingAt = this.now_ + ms;
    return 1;
  }

  clearTimeout(): void {
    this.pending = undefined;
    this.pendingAt = Infinity;
  }

  /** Moves time to the armed timer (if later) and fires it. Returns false when none is armed. */
  fireNext(): boolean {
    const fn = this.pending;
    if (fn === undefined) return false;
    this.now_ = Math.max(this.now_, this.pendingAt);
    this.pending = undefined;
    this.pendingAt = Infinity;
    fn();
    return true;
  }
}
