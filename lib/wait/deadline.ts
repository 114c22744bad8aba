import type { Clock } from './clock.js';
import { queueFor, type TimerEntry, type TimerQueue } from './timer-queue.js';

/**
 * A one-shot deadline on a clock's shared timer queue: `onDue` runs once when the armed time
 * comes, unless it is cancelled or re-armed first. Every one-shot timeout of the package (poll's
 * timeout, settleWithin, a store call's, the elector's renew deadline, a run's) is one of these,
 * so none arms a timer of its own and none outlives a cancel. Internal.
 */
export class Deadline implements TimerEntry {
  due = 0;
  heapIndex = -1;
  private readonly queue: TimerQueue;

  /** @param onDue - called once per arming when the time comes; must not throw. */
  constructor(
    clock: Clock,
    private readonly onDue: () => void,
  ) {
    this.queue = queueFor(clock);
  }

  /** Whether it is armed and has not fired. */
  get armed(): boolean {
    return this.heapIndex >= 0;
  }

  /** Arms it for clock time `time`, replacing an earlier arming. */
  at(time: number): this {
    this.queue.remove(this);
    this.queue.add(this, time);
    return this;
  }

  /** Arms it `ms` from now on its clock, replacing an earlier arming. */
  after(ms: number): this {
    return this.at(this.queue.clock.now() + ms);
  }

  /** Disarms it; harmless when not armed. */
  cancel(): void {
    this.queue.remove(this);
  }

  /** TimerEntry: the time has come. */
  fire(): void {
    this.onDue();
  }
}
