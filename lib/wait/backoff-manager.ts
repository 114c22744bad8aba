import { realClock, type Clock } from './clock.js';
import { Backoff } from './backoff.js';
import { toMillis, type Duration } from './duration.js';
import { applyJitter } from './jitter.js';
import {
  checkClock,
  checkFinite,
  checkFunction,
  checkNonNegative,
  checkObject,
} from './validate.js';

/** Supplies the waits of {@link backoffUntil}: Go's `wait.BackoffManager`, returning milliseconds. */
export interface BackoffManager {
  /** The wait before the next run, in milliseconds (finite, >= 0). */
  backoff(): number;
}

/** Options of {@link exponentialBackoffManager}. */
export interface ExponentialBackoffManagerOptions {
  /** The first wait, and the wait after a reset. */
  initial: Duration;
  /** The largest wait (before jitter). */
  max: Duration;
  /** Back to `initial` when more than this has passed since the previous call. */
  resetAfter: Duration;
  /** Each call multiplies the wait by this. */
  factor: number;
  /** Adds up to `jitter * wait` when > 0. Default 0. */
  jitter?: number;
  /** Measures the idle time. Default `realClock`. */
  clock?: Clock;
  /** Numbers in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
}

const MAX_STEPS = 2 ** 31 - 1;

class ExponentialBackoffManager implements BackoffManager {
  private readonly steps: Backoff;
  private last: number;

  constructor(
    private readonly initial: number,
    max: number,
    private readonly resetAfter: number,
    factor: number,
    jitter: number,
    private readonly clock: Clock,
    random: () => number,
  ) {
    this.steps = new Backoff(
      { duration: initial, factor, jitter, steps: MAX_STEPS, cap: max },
      random,
    );
    this.last = clock.now();
  }

  backoff(): number {
    const now = this.clock.now();
    if (now - this.last > this.resetAfter) {
      this.steps.duration = this.initial;
      this.steps.steps = MAX_STEPS;
    }
    this.last = now;
    return this.steps.step();
  }
}

/**
 * Go's `NewExponentialBackoffManager`: waits of `initial`, then times `factor` up to `max`,
 * starting over from `initial` when more than `resetAfter` has passed since the previous call.
 * `(1, 10, 10, x2)` gives 1, 2, 4, 8, 10, 10, 10, and 1 again after 11 ms idle.
 */
export function exponentialBackoffManager(
  options: ExponentialBackoffManagerOptions,
): BackoffManager {
  const where = 'exponentialBackoffManager()';
  checkObject(options, where, 'options');
  return new ExponentialBackoffManager(
    toMillis(options.initial, where, 'initial'),
    toMillis(options.max, where, 'max'),
    toMillis(options.resetAfter, where, 'resetAfter'),
    checkNonNegative(options.factor, where, 'factor'),
    checkFinite(options.jitter ?? 0, where, 'jitter'),
    options.clock === undefined ? realClock : checkClock(options.clock, where),
    options.random === undefined ? Math.random : checkFunction(options.random, where, 'random'),
  );
}

/**
 * Go's `NewJitteredBackoffManager`: every wait is `duration`, jittered by up to
 * `jitter * duration` when `jitter > 0` (`<= 0`: exactly `duration`).
 *
 * @param options.random - numbers in [0, 1). Default `Math.random`.
 * @param options.clock - accepted for symmetry with Go; the waits do not depend on time.
 */
export function jitteredBackoffManager(
  duration: Duration,
  jitter: number,
  options: { clock?: Clock; random?: () => number } = {},
): BackoffManager {
  const where = 'jitteredBackoffManager()';
  const ms = toMillis(duration, where, 'duration');
  const factor = checkFinite(jitter, where, 'jitter');
  checkObject(options, where, 'options');
  if (options.clock !== undefined) checkClock(options.clock, where);
  const random =
    options.random === undefined ? Math.random : checkFunction(options.random, where, 'random');
  return { backoff: () => (factor > 0 ? applyJitter(ms, factor, random) : ms) };
}
