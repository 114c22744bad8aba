import type { Clock } from './clock.js';
import { Deadline } from './deadline.js';

/**
 * Waits for `promise` to settle, but no longer than `ms` on `clock`: resolves `true` if it
 * settled in time (fulfilled or rejected alike), `false` when the time ran out. Its timer is
 * cleared as soon as the promise settles, so it never holds a process open. Internal: graceful
 * shutdown uses it.
 */
export function settleWithin(
  promise: Promise<unknown>,
  ms: number,
  clock: Clock,
): Promise<boolean> {
  return new Promise((resolve) => {
    const deadline = new Deadline(clock, () => resolve(false)).after(ms);
    const settled = (): void => {
      deadline.cancel();
      resolve(true);
    };
    promise.then(settled, settled);
  });
}
