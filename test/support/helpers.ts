import type { Clock } from '../../lib/index.js';
import type { FakeClock } from '../../lib/testing/index.js';
import type { ManagedLoopObserver } from '../../lib/polling/loop/loop-settings.js';

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

export interface Outcome {
  state: 'pending' | 'resolved' | 'rejected';
  error?: unknown;
  /** clock.now() when the promise settled. */
  at?: number;
}

/** Follows a promise without awaiting it, recording how and when (in fake time) it settled. */
export function observe(promise: Promise<void>, clock: FakeClock): Outcome {
  const outcome: Outcome = { state: 'pending' };
  promise.then(
    () => Object.assign(outcome, { state: 'resolved', at: clock.now() }),
    (error: unknown) => Object.assign(outcome, { state: 'rejected', error, at: clock.now() }),
  );
  return outcome;
}

export type Answer = (
  attempt: number,
  ctx: { readonly signal: AbortSignal },
) => boolean | Promise<boolean>;

/** A condition that records the fake time of every call and answers with `answer`. */
export function recorder(clock: FakeClock, answer: Answer) {
  const times: number[] = [];
  const signals: AbortSignal[] = [];
  const condition = (ctx: { readonly signal: AbortSignal }) => {
    times.push(clock.now());
    signals.push(ctx.signal);
    return answer(times.length, ctx);
  };
  return { condition, times, signals };
}

/** A deterministic PRNG in [0, 1) (mulberry32), standing in for Go's seeded rand.Float64. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A promise settled by hand: for holding a run open, or settling it at a chosen moment. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * `text` typed as a plain `string`, as read from configuration: duration literals the compiler
 * refuses (`'5'`, `'soon'`) reach the run-time checks this way.
 */
export function configured(text: string): string {
  return text;
}

/** A managed loop's observer that ignores everything. */
export const QUIET: ManagedLoopObserver = {
  runStarted: () => undefined,
  runSucceeded: () => undefined,
  runFailed: () => undefined,
  stopped: () => undefined,
};
