import type { LoopContext } from '../wait/internal.js';

/** A snapshot of one loop, from {@link PollingRegistry.get} and {@link PollingRegistry.list}. */
export interface LoopStatus {
  name: string;
  /** `'running'` from start until stop (a run may still be settling after stop: see `inFlight`). */
  state: 'running' | 'stopped' | 'standby';
  /** Milliseconds. */
  period: number;
  jitter: number;
  sliding: boolean;
  /** Runs so far, over every start. */
  iterations: number;
  failures: number;
  consecutiveFailures: number;
  inFlight: boolean;
  /** When the loop was last started (by the app or `start()`); absent while stopped. */
  runningSince?: Date;
  lastStartedAt?: Date;
  lastSucceededAt?: Date;
  /** What the last failed run threw; kept after a success (see `consecutiveFailures`). */
  lastError?: unknown;
  /** When the next run is planned; absent when stopped, running sliding, or about to be planned. */
  nextRunAt?: Date;
}

/** What {@link PollingRegistry.events$} emits: a run started, succeeded or failed, or the loop stopped. */
export interface LoopEvent {
  type: 'started' | 'succeeded' | 'failed' | 'stopped';
  name: string;
  /** The run's `ctx.iteration` (for `'stopped'`, the last run's). */
  iteration: number;
  /** After this event: 0 once a run succeeded. */
  consecutiveFailures: number;
  at: Date;
  /** For `'failed'`: what the run threw. */
  error?: unknown;
}

/**
 * What each run of a loop of the WaitModule receives (`@Until` methods and
 * {@link PollingRegistry.add} functions): the engine's {@link LoopContext} with the loop's name
 * and, for leader-only loops, the term's fencing token. A method typed `(ctx: LoopContext)` is
 * accepted as well.
 */
export interface PollingContext extends LoopContext {
  /** The loop's name (default `'ClassName.methodName'` for `@Until`). */
  readonly name: string;
  /**
   * Leader election: the fencing token of the leadership term this run belongs to. Every new term
   * of a lease gets a greater token than all earlier ones, so a downstream store that keeps the
   * greatest token it has seen can refuse writes from a leader that has been replaced.
   * `undefined` for loops that are not leader-only.
   */
  readonly fencingToken?: number | undefined;
}

/**
 * The body of a loop of the WaitModule: takes its context (or nothing) and may return a promise;
 * the next run waits until it settles. Extra parameters must be optional.
 */
export type PollingFn = (ctx: PollingContext) => unknown;
