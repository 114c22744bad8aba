import type { Clock } from './clock.js';
import { queueFor, type TimerEntry } from './timer-queue.js';

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
    const queue = queueFor(clock);
    const deadline: TimerEntry = { due: 0, heapIndex: -1, fire: () => resolve(false) };
    queue.add(deadline, clock.now() + ms);
    const settled = (): void => {
      queue.remove(deadline);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}
