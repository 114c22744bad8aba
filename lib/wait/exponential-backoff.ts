import { realClock, type Clock } from './clock.js';
import { Backoff, checkBackoffOptions, type BackoffOptions } from './backoff.js';
import { ConditionLoop, type ConditionFn } from './condition-loop.js';
import { WaitTimeoutError } from './errors.js';
import { NEVER_STOP } from './until.js';
import { checkClock, checkFunction, checkObject, checkSignal } from './validate.js';

/** Options of {@link exponentialBackoff}. */
export interface ExponentialBackoffOptions {
  /** Stops the wait: the promise rejects with `signal.reason`. Default none. */
  signal?: AbortSignal;
  /** Default `realClock`. */
  clock?: Clock;
  /** Numbers in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
}

/**
 * Go's `wait.ExponentialBackoffWithContext`: calls `condition` at most `backoff.steps` times,
 * sleeping `Backoff.step()` between calls (`steps - 1` sleeps). Resolves when it returns `true`;
 * rejects with its error, with `signal.reason` on abort, or with {@link WaitTimeoutError} when the
 * steps run out (`steps: 0` rejects without calling it). Reaching `cap` ends the steps, as in Go.
 */
export function exponentialBackoff(
  backoff: BackoffOptions,
  condition: ConditionFn,
  options: ExponentialBackoffOptions = {},
): Promise<void> {
  const where = 'exponentialBackoff()';
  checkObject(options, where, 'options');
  const random =
    options.random === undefined ? Math.random : checkFunction(options.random, where, 'random');
  const steps = new Backoff(checkBackoffOptions(backoff, where), random);
  checkFunction(condition, where, 'condition');
  const clock = options.clock === undefined ? realClock : checkClock(options.clock, where);
  if (options.signal !== undefined) checkSignal(options.signal, where);
  if (steps.steps < 1) return Promise.reject(new WaitTimeoutError());
  const signal = options.signal ?? NEVER_STOP;
  return new ConditionLoop(condition, signal, true, clock, steps, false).start();
}
