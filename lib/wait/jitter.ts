import { checkFinite, checkFunction, checkNonNegative } from './validate.js';

/**
 * Go's `wait.Jitter`: a duration between `duration` and `duration * (1 + maxFactor)`, that is
 * `duration + random() * maxFactor * duration`. A `maxFactor <= 0` means 1.0, as in Go.
 *
 * @param duration - milliseconds, >= 0.
 * @param maxFactor - the largest fraction of `duration` to add.
 * @param random - numbers in [0, 1). Default `Math.random`.
 */
export function jitter(
  duration: number,
  maxFactor: number,
  random: () => number = Math.random,
): number {
  checkNonNegative(duration, 'jitter()', 'duration');
  checkFinite(maxFactor, 'jitter()', 'maxFactor');
  checkFunction(random, 'jitter()', 'random');
  return applyJitter(duration, maxFactor, random);
}

/** {@link jitter} without the argument checks, for callers that checked once up front. */
export function applyJitter(duration: number, maxFactor: number, random: () => number): number {
  return duration + random() * (maxFactor > 0 ? maxFactor : 1) * duration;
}
