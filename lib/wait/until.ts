import { realClock, type Clock } from './clock.js';
import type { BackoffManager } from './backoff-manager.js';
import { toMillis, type CheckedDuration, type Duration } from './duration.js';
import type { LoopFn, LoopOptions } from './loop.js';
import { UntilLoop } from './until-loop.js';
import { messages } from './wait.messages.js';
import {
  checkClock,
  checkFinite,
  checkFunction,
  checkObject,
  checkOptionalFunction,
  checkSignal,
} from './validate.js';

/** A stop signal that never aborts: pass it to run a loop for the life of the process. */
export const NEVER_STOP: AbortSignal = new AbortController().signal;

interface CheckedOptions {
  clock: Clock;
  random: () => number;
  onError: ((error: unknown) => void) | undefined;
}

function checkOptions(options: LoopOptions | undefined, where: string): CheckedOptions {
  if (options === undefined) return { clock: realClock, random: Math.random, onError: undefined };
  checkObject(options, where, 'options');
  return {
    clock: options.clock === undefined ? realClock : checkClock(options.clock, where),
    random: checkOptionalFunction(options.random, where, 'options.random') ?? Math.random,
    onError: checkOptionalFunction(options.onError, where, 'options.onError'),
  };
}

/**
 * Go's `wait.Until`: runs `fn` at once, then again `period` after each run settles (sliding), until
 * `stop` aborts. Never two runs at once; `fn` never starts after the abort.
 *
 * @returns a promise that resolves once `stop` has aborted and the run in flight has settled, or
 *   rejects with the first error of `fn` when `options.onError` is not set.
 */
export function until<const P extends Duration>(
  fn: LoopFn,
  period: CheckedDuration<P>,
  stop: AbortSignal,
  options?: LoopOptions,
): Promise<void> {
  return startJitterLoop('until()', fn, period, 0, true, stop, options);
}

/**
 * Go's `wait.NonSlidingUntil`: as {@link until}, but the period starts when a run starts, so it
 * includes the run's time; a run longer than the period is followed at once by the next. Targets
 * are absolute (`start + n * period`), so timer lateness does not accumulate.
 */
export function nonSlidingUntil<const P extends Duration>(
  fn: LoopFn,
  period: CheckedDuration<P>,
  stop: AbortSignal,
  options?: LoopOptions,
): Promise<void> {
  return startJitterLoop('nonSlidingUntil()', fn, period, 0, false, stop, options);
}

/**
 * Go's `wait.JitterUntil`: as {@link until}, with each wait drawn from
 * `[period, period * (1 + jitterFactor))` when `jitterFactor > 0` (`<= 0` means no jitter), and
 * a choice of sliding (`true`: the wait starts after the run) or non-sliding (`false`).
 */
export function jitterUntil<const P extends Duration>(
  fn: LoopFn,
  period: CheckedDuration<P>,
  jitterFactor: number,
  sliding: boolean,
  stop: AbortSignal,
  options?: LoopOptions,
): Promise<void> {
  return startJitterLoop('jitterUntil()', fn, period, jitterFactor, sliding, stop, options);
}

/**
 * Go's `wait.Forever`: {@link until} with {@link NEVER_STOP}. The promise never resolves; it
 * rejects with the first error of `fn` when `options.onError` is not set.
 */
export function forever<const P extends Duration>(
  fn: LoopFn,
  period: CheckedDuration<P>,
  options?: LoopOptions,
): Promise<never> {
  return startJitterLoop('forever()', fn, period, 0, true, NEVER_STOP, options) as Promise<never>;
}

/**
 * Go's `wait.BackoffUntil`: as {@link jitterUntil}, with each wait taken from `backoff.backoff()`
 * (before the run when non-sliding, after it when sliding).
 */
export function backoffUntil(
  fn: LoopFn,
  backoff: BackoffManager,
  sliding: boolean,
  stop: AbortSignal,
  options?: LoopOptions,
): Promise<void> {
  const where = 'backoffUntil()';
  checkFunction(fn, where, 'fn');
  if (typeof (backoff as BackoffManager | null)?.backoff !== 'function') {
    throw new TypeError(messages.backoffManager(where, backoff));
  }
  checkSignal(stop, where);
  const o = checkOptions(options, where);
  const { clock, onError, random } = o;
  return new UntilLoop(fn, stop, Boolean(sliding), clock, onError, backoff, 0, 0, random).start();
}

function startJitterLoop(
  where: string,
  fn: LoopFn,
  period: Duration,
  jitterFactor: number,
  sliding: boolean,
  stop: AbortSignal,
  options: LoopOptions | undefined,
): Promise<void> {
  checkFunction(fn, where, 'fn');
  const ms = toMillis(period, where, 'period');
  checkFinite(jitterFactor, where, 'jitterFactor');
  checkSignal(stop, where);
  const o = checkOptions(options, where);
  const { clock, onError, random } = o;
  return new UntilLoop(
    fn,
    stop,
    Boolean(sliding),
    clock,
    onError,
    undefined,
    ms,
    jitterFactor,
    random,
  ).start();
}
