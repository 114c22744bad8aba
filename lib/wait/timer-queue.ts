import { realClock, type Clock } from './clock.js';
import { ArmedTimer } from './armed-timer.js';
import { HELD_BACK, STARTING, type TimerEntry } from './timer-entry.js';
import { heapPop, heapPush, heapRemove } from './timer-heap.js';

export { STARTING, type TimerEntry } from './timer-entry.js';

/** Resolved once; held-back entries are flushed in its callbacks (fake timers cannot stall it). */
const settled = Promise.resolve();

/**
 * One armed timer per clock, shared by every loop on that clock. Internal.
 *
 * Why: a Node `Timeout` per loop would add a timer object to every idle loop. Entries sit in a
 * min-heap by due time (timer-heap.ts), and only the earliest is armed on the clock
 * (armed-timer.ts), the way Node itself shares one native timer among its timer lists.
 *
 * Rules that keep time honest and cheap:
 * - a timer that fired means its target time has come: entries due up to that target run even if
 *   `clock.now()` reads a hair earlier (Node's timers are whole milliseconds), so cadence does
 *   not slip; nothing runs before its due time by the clock that armed it;
 * - on `realClock` time has Node's resolution: waits start at the current whole millisecond (as
 *   Node's own setTimeout counts: libuv keeps whole milliseconds) and delays are armed in whole
 *   milliseconds, so loops falling due together share a batch and end on one timer turn;
 * - a wait that starts "now" (a sliding loop's run just settled, a first run) is held back until
 *   the batch under way ends, or until the microtask after the current burst of promise
 *   callbacks; one clock read then serves them all, instead of one per run;
 * - entries queued while a batch runs wait for the next timer turn, so a zero period yields to
 *   the event loop instead of spinning.
 */
export class TimerQueue {
  private readonly heap: TimerEntry[] = [];
  /** Entries popped for the running batch; reused so a batch allocates nothing. */
  private readonly batch: TimerEntry[] = [];
  /** Held back (see holdBack) to fire in the next microtask. */
  private readonly starting: TimerEntry[] = [];
  /** Held back; `due` holds a wait, to start from the next clock read. */
  private readonly afterNow: TimerEntry[] = [];
  /** Held back; `due` holds a target, moved up to the next clock read if it has passed. */
  private readonly atLeastNow: TimerEntry[] = [];
  private readonly timer: ArmedTimer;
  private firing = false;
  private flushScheduled = false;
  private readonly onFlush = (): void => this.flush();

  constructor(readonly clock: Clock) {
    this.timer = new ArmedTimer(clock, () => this.runDue());
  }

  /** Number of queued entries. */
  get size(): number {
    return this.heap.length;
  }

  /** Queues `entry` (not already queued) to fire at `due`. */
  add(entry: TimerEntry, due: number): void {
    entry.due = due;
    heapPush(this.heap, entry);
    this.armIfEarlier();
  }

  /**
   * Fires `entry` in a microtask: at once, but never inside the caller's stack. Entries started
   * in the same tick share that microtask, as one batch.
   */
  addNow(entry: TimerEntry): void {
    this.holdBack(entry, 0, this.starting, STARTING);
  }

  /** Queues `entry` to fire `wait` ms from now (a sliding wait, starting when a run settled). */
  addAfter(entry: TimerEntry, wait: number): void {
    this.holdBack(entry, wait, this.afterNow, HELD_BACK);
  }

  /**
   * Queues `entry` to fire at `target`, or now if that has passed (a non-sliding target after a
   * run that overran it: the next starts as soon as it can, and its own period from there).
   */
  addAtLeast(entry: TimerEntry, target: number): void {
    this.holdBack(entry, target, this.atLeastNow, HELD_BACK);
  }

  /**
   * When `entry` is planned to fire: its due time when queued, now when about to start, and
   * `undefined` when not queued or when its wait starts at the next clock read.
   */
  dueOf(entry: TimerEntry): number | undefined {
    if (entry.heapIndex >= 0) return entry.due;
    return entry.heapIndex === STARTING ? this.clock.now() : undefined;
  }

  /** Dequeues `entry` if queued. The armed timer stays (it fires harmlessly) unless none is left. */
  remove(entry: TimerEntry): void {
    const index = entry.heapIndex;
    entry.heapIndex = -1; // an entry held back is then skipped
    if (index < 0) return;
    heapRemove(this.heap, entry, index);
    if (this.heap.length === 0) this.timer.disarm();
  }

  /**
   * Holds `entry` back until the batch under way ends, or until the microtask after this burst
   * of promise callbacks: then one clock read serves every entry held back, and each wait starts
   * no earlier than the moment it was asked for.
   */
  private holdBack(entry: TimerEntry, value: number, list: TimerEntry[], marker: number): void {
    entry.due = value;
    entry.heapIndex = marker;
    list.push(entry);
    // A batch queues what its runs held back when it ends, but starts asked for during it still
    // need their microtask (a loop started from inside another loop's run).
    if (!this.flushScheduled && (!this.firing || list === this.starting)) {
      this.flushScheduled = true;
      void settled.then(this.onFlush);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.starting.length > 0) {
      this.runBatch(this.clock.now(), this.starting);
    } else {
      this.addHeldBack();
      this.armIfEarlier();
    }
  }

  /**
   * Re-arms when the earliest entry is due before the armed timer (or the timer came from
   * swapped-out globals). Outside a batch only: a batch arms once when it ends.
   */
  private armIfEarlier(): void {
    if (this.firing || this.heap.length === 0) return;
    if (this.heap[0].due < this.timer.due || this.timer.stale) this.timer.rearm(this.heap[0].due);
  }

  private runDue(): void {
    const target = Math.max(this.clock.now(), this.timer.fired());
    const { heap, batch } = this;
    while (heap.length > 0 && heap[0].due <= target) batch.push(heapPop(heap));
    this.runBatch(target, batch);
  }

  /** Fires the entries of `list` (emptying it), then queues what they held back, then arms. */
  private runBatch(target: number, list: TimerEntry[]): void {
    this.firing = true;
    try {
      for (let i = 0; i < list.length; i++) {
        const entry = list[i];
        if (list === this.starting) {
          if (entry.heapIndex !== STARTING) continue; // removed, or already fired, meanwhile
          entry.due = target;
        }
        entry.heapIndex = -1;
        entry.fire(target);
      }
    } finally {
      list.length = 0;
      this.firing = false;
      this.addHeldBack();
      this.timer.rearm(this.heap.length > 0 ? this.heap[0].due : undefined);
    }
  }

  private addHeldBack(): void {
    const { afterNow, atLeastNow } = this;
    if (afterNow.length + atLeastNow.length === 0) return;
    const now = this.clock.now();
    const base = this.clock === realClock ? Math.floor(now) : now;
    for (let i = 0; i < afterNow.length; i++)
      this.pushHeldBack(afterNow[i], base + afterNow[i].due);
    for (let i = 0; i < atLeastNow.length; i++) {
      this.pushHeldBack(atLeastNow[i], Math.max(atLeastNow[i].due, now));
    }
    afterNow.length = atLeastNow.length = 0;
  }

  private pushHeldBack(entry: TimerEntry, due: number): void {
    if (entry.heapIndex !== HELD_BACK) return; // removed, or queued again, meanwhile
    entry.due = due;
    heapPush(this.heap, entry);
  }
}

const queues = new WeakMap<Clock, TimerQueue>();

/** The shared queue of `clock`, created on first use. */
export function queueFor(clock: Clock): TimerQueue {
  let queue = queues.get(clock);
  if (queue === undefined) {
    queue = new TimerQueue(clock);
    queues.set(clock, queue);
  }
  return queue;
}
