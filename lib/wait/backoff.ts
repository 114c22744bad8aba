import { toMillis, type Duration } from './duration.js';
import { applyJitter } from './jitter.js';
import {
  checkFinite,
  checkFunction,
  checkInteger,
  checkNonNegative,
  checkObject,
} from './validate.js';

/** The parameters of a {@link Backoff}, Go's `wait.Backoff`. */
export interface BackoffOptions {
  /** The first wait. */
  duration: Duration;
  /** Each step multiplies the wait by this. Default 1; 0 also means "no growth", as in Go. */
  factor?: number;
  /** Adds up to `jitter * wait` to each returned wait when > 0. Default 0 (none). */
  jitter?: number;
  /**
   * How many times the wait may still change. Default 0, as Go's zero value: the wait stays
   * constant, and `exponentialBackoff` rejects at once without calling its condition.
   */
  steps?: number;
  /** The wait never grows past this; reaching it sets `steps` to 0. Default 0 (no cap). */
  cap?: Duration;
}

/**
 * Go's `wait.Backoff`: an exponential backoff whose {@link Backoff.step} returns the current wait
 * and stores the next. `{ duration: '1s', factor: 2, steps: 3 }` gives 1s, 2s, 4s, then 8s for
 * ever; with `cap: '3s'` it gives 1s, 2s, 3s, 3s. Fields are public and mutable, as in Go.
 */
export class Backoff {
  /** The next wait, in milliseconds. */
  duration: number;
  /** Multiplier applied at each step (0 or 1: constant). */
  factor: number;
  /** Jitter factor applied to returned waits when > 0. */
  jitter: number;
  /** Remaining steps; below 1 the wait no longer changes. */
  steps: number;
  /** Upper bound of `duration` in milliseconds; 0 for none. */
  cap: number;
  private readonly random: () => number;

  /**
   * @param options - see {@link BackoffOptions} for each default.
   * @param random - numbers in [0, 1) for jitter. Default `Math.random`.
   */
  constructor(options: BackoffOptions, random: () => number = Math.random) {
    const checked = checkBackoffOptions(options, 'new Backoff()');
    this.duration = checked.duration;
    this.factor = checked.factor;
    this.jitter = checked.jitter;
    this.steps = checked.steps;
    this.cap = checked.cap;
    this.random = checkFunction(random, 'new Backoff()', 'random');
  }

  /**
   * Returns the current wait (jittered when `jitter > 0`) and, while `steps >= 1`, uses a step:
   * the stored wait is multiplied by `factor` and pinned to `cap` (which sets `steps` to 0).
   */
  step(): number {
    const current = this.duration;
    if (this.steps < 1) {
      this.steps = 0;
    } else {
      this.steps--;
      if (this.factor !== 0) {
        const next = current * this.factor;
        if (this.cap > 0 && next > this.cap) {
          this.duration = this.cap;
          this.steps = 0;
        } else {
          this.duration = next;
        }
      }
    }
    return this.jitter > 0 ? applyJitter(current, this.jitter, this.random) : current;
  }
}

/**
 * Checks {@link BackoffOptions} for the call named `where` and fills in the defaults: every
 * duration in milliseconds. Internal: lets `exponentialBackoff()` report bad options in its name.
 */
export function checkBackoffOptions(
  options: BackoffOptions,
  where: string,
): Required<BackoffOptions> & { duration: number; cap: number } {
  checkObject(options, where, 'options');
  return {
    duration: toMillis(options.duration, where, 'duration'),
    factor: checkNonNegative(options.factor ?? 1, where, 'factor'),
    jitter: checkFinite(options.jitter ?? 0, where, 'jitter'),
    steps: checkInteger(options.steps ?? 0, where, 'steps'),
    cap: toMillis(options.cap ?? 0, where, 'cap'),
  };
}
