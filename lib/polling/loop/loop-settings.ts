import type { Clock } from '../../wait/internal.js';
import type { ManagedLoop } from './managed-loop.js';

/** How a managed loop runs, checked and in milliseconds. Internal. */
export interface LoopSettings {
  readonly period: number;
  /** `<= 0`: none. */
  readonly jitter: number;
  readonly sliding: boolean;
  /** Before the first run of each start. */
  readonly initialDelay: number;
  /** After a failed run, wait this backoff instead of the period; a success resets it. */
  readonly backoff: ManagedBackoff | undefined;
  /** A run in flight longer than this has its signal aborted and counts as failed. Default none. */
  readonly timeout?: number | undefined;
}

/** The backoff of a managed loop, as for `exponentialBackoffManager`. Internal. */
export interface ManagedBackoff {
  readonly initial: number;
  readonly max: number;
  readonly factor: number;
  readonly jitter: number;
  readonly resetAfter: number;
}

/** What the managed loops of one registry share: a field each instead of three. Internal. */
export interface LoopHost {
  readonly clock: Clock;
  /** Numbers in [0, 1) for jitter. */
  readonly random: () => number;
  readonly observer: ManagedLoopObserver;
}

/** Told of each run and stop of a managed loop. Must not throw. Internal. */
export interface ManagedLoopObserver {
  runStarted(loop: ManagedLoop): void;
  /** `failuresBefore`: the consecutive failures this success ends (0 for a routine success). */
  runSucceeded(loop: ManagedLoop, failuresBefore: number): void;
  runFailed(loop: ManagedLoop, error: unknown): void;
  /** The loop was stopped and its last run has settled. */
  stopped(loop: ManagedLoop): void;
  /** A run passed its timeout (its signal is aborted); it counts as failed when it settles. */
  runTimedOut?(loop: ManagedLoop, timeout: number): void;
}

/**
 * Decides whether a managed loop may run (leader election): a loop with a gate runs only while
 * the gate admits it, and each run gets the gate's fencing token. The gate tells the loop when it
 * opens and closes through {@link ManagedLoop.gateChanged}. Internal.
 */
export interface LoopGate {
  /** The fencing token of the term in force at clock time `now`; `undefined`: no run may start. */
  admit(now: number): number | undefined;
  /**
   * The wait before the first run of a start at `now`, instead of `initialDelay` (a spread
   * loop's owner keeps the cadence of the one before it); `undefined`: `initialDelay`.
   */
  firstDelay?(now: number): number | undefined;
  /** A run started at clock time `now` (a spread loop's owner records its runs). */
  runStarted?(now: number): void;
  /** The run in flight settled at clock time `now`. */
  runEnded?(now: number): void;
}
