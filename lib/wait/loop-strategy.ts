/** How a loop ended: resolved (`failed: false`), or rejected with `error`. Internal. */
export interface LoopEnd {
  readonly failed: boolean;
  readonly error: unknown;
}

/** The end of a loop that resolves. Internal. */
export const RESOLVED: LoopEnd = Object.freeze({ failed: false, error: undefined });

/** The end of a loop that rejects with `error`. Internal. */
export function rejectWith(error: unknown): LoopEnd {
  return { failed: true, error };
}

/**
 * What a loop core asks of the loop it drives: how long to wait, whether a run may start, the run
 * itself and what its outcome means. The core owns everything else: the stop, sliding versus
 * non-sliding waits, overlap-freedom, re-planning and triggers. Internal.
 *
 * Methods must not throw, except `nextWait()` and `run()`, whose errors the core handles.
 */
export interface LoopStrategy {
  /** The wait before the next run, in ms. What it throws ends the loop, rejecting with it. */
  nextWait(): number;
  /** After a failed run that the loop goes on from: a wait counted from now, or `undefined` for the plan. */
  retryWait(): number | undefined;
  /**
   * The stop check, before each run and after each run that did not end the loop: `undefined`
   * lets the loop go on, an end ends it instead (the loop's own stop: a closed gate, a signal
   * whose abort event never arrived, a budget spent).
   */
  admit(): LoopEnd | undefined;
  /** One run, numbered from 1 for this core. What it throws or rejects with is a failed run. */
  run(iteration: number, now: number): unknown;
  /**
   * A run settled (`failed`: `value` is what it threw): `undefined` goes on, an end ends the loop.
   * `now` is the batch's time when the run returned or threw synchronously (it held the event
   * loop since), `undefined` when it returned a promise.
   */
  settled(failed: boolean, value: unknown, now: number | undefined): LoopEnd | undefined;
  /** Called once, synchronously, when the loop has ended and no run is in flight. */
  ended(end: LoopEnd): void;
}
