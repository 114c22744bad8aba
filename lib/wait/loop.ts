import type { Clock } from './clock.js';

/** What each run of a loop receives. */
export interface LoopContext {
  /** Aborts with the loop's stop signal: pass it on to cancellable work (fetch, queries). */
  readonly signal: AbortSignal;
  /** The number of this run: 1 for the first. */
  readonly iteration: number;
}

/** The body of a loop. It may return a promise; the next run waits until it settles. */
export type LoopFn = (ctx: LoopContext) => unknown;

/** Options shared by every loop function. */
export interface LoopOptions {
  /** Time source and timers. Default `realClock`. */
  clock?: Clock;
  /** Random numbers in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  /**
   * Receives what a run threw or rejected with, and the loop goes on. Default none: the first
   * error ends the loop and rejects its promise (Go re-panics by default). An error thrown by
   * `onError` itself ends the loop the same way.
   */
  onError?: (error: unknown) => void;
}
