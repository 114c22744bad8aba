import { realClock, type Clock } from './clock.js';

/**
 * One armed timer per clock, shared by every loop on that clock.
 *
 * Why: a Node `Timeout` per loop, plus the loop's promise, already costs about 1.7x the memory of
 * a bare `setTimeout` chain. Entries sit in a binary min-heap ordered by due time, and only the
 * earliest is armed on the clock, the way Node itself shares one native timer among its timer
 * lists. Internal.
 *
 * Rules that keep time honest and cheap:
 * - a timer that fired means its target time has come: entries due up to that target run even if
 *   `clock.now()` reads a hair earlier (Node's timers are whole milliseconds), so cadence does
 *   not slip; nothing runs before its due time by the clock that armed it;
 * - on `realClock` time has Node's resolution: waits start at the current whole millisecond and
 *   delays are armed in whole milliseconds, so loops falling due together share a batch;
 * - a wait that starts "now" (a sliding loop's run just settled, a first run) is held back until
 *   the batch under way ends, or until the microtask after the current burst of promise
 *   callbacks; one clock read then serves them all, instead of one per run;
 * - entries queued while a batch runs wait for the next timer turn, so a zero period yields to
 *   the event loop instead of spinning.
 */

/** Something the queue can hold: a loop waiting for its next run, or a deadline. */
export interface TimerEntry {
  /** When the entry is due, in the clock's milliseconds. Set by the queue. */
  due: number;
  /** Position in the heap, negative when not in it. Owned by the queue. */
  heapIndex: number;
  /** Called once when `due` has come; `now` is the batch's time. Must not throw. */
  fire(now: number): void;
}

/**
 * heapIndex of an entry held back (see TimerQueue.holdBack): to start in the next microtask, or
 * with a wait that starts at the next clock read. Two markers, so that an entry started again
 * while held back (a trigger) cannot fire twice from two lists.
 */
export const STARTING = -2;
const HELD_BACK = -3;

/** Resolved once; held-back entries are flushed in its callbacks (fake timers cannot stall it). */
const settled = Promise.resolve();

/** Node clamps longer delays to 1 ms; longer waits are armed in chunks of this size. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** The shared timer of one clock; see the file comment. */
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
  private handle: unknown = undefined;
  /** The time the armed timer stands for; Infinity when none is armed. */
  private armedTarget = Infinity;
  /** The due time of the entry the timer was armed for: an earlier one needs a new timer. */
  private armedDue = Infinity;
  /** realClock only: the global `setTimeout`/`clearTimeout` the armed timer came from. */
  private armedSetter: unknown = undefined;
  private armedClearer: ((handle: unknown) => void) | undefined = undefined;
  private firing = false;
  private flushScheduled = false;
  private readonly onTimer = (): void => this.runDue();
  private readonly onFlush = (): void => this.flush();

  constructor(readonly clock: Clock) {}

  /** Number of queued entries. */
  get size(): number {
    return this.heap.length;
  }

  /** Queues `entry` (not already queued) to fire at `due`. */
  add(entry: TimerEntry, due: number): void {
    entry.due = due;
    entry.heapIndex = this.heap.length;
    this.heap.push(entry);
    this.siftUp(entry.heapIndex);
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
    const last = this.heap.pop()!;
    if (last !== entry) {
      this.heap[index] = last;
      last.heapIndex = index;
      this.siftDown(index);
      this.siftUp(last.heapIndex);
    }
    if (this.heap.length === 0) this.disarm();
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
    if (this.heap[0].due < this.armedDue || this.isStale()) this.arm();
  }

  private runDue(): void {
    this.handle = undefined;
    const target = Math.max(this.clock.now(), this.armedTarget);
    this.armedTarget = this.armedDue = Infinity;
    const { heap, batch } = this;
    while (heap.length > 0 && heap[0].due <= target) batch.push(this.popMin());
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
      this.arm();
    }
  }

  private addHeldBack(): void {
    const { afterNow, atLeastNow } = this;
    if (afterNow.length + atLeastNow.length === 0) return;
    const now = this.clock.now();
    // On realClock a wait starts at the current whole millisecond, as Node's own setTimeout
    // counts (libuv keeps whole milliseconds), so waits of many loops end on one timer turn.
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
    entry.heapIndex = this.heap.length;
    this.heap.push(entry);
    this.siftUp(entry.heapIndex);
  }

  private arm(): void {
    this.disarm();
    if (this.heap.length === 0) return;
    const now = this.clock.now();
    const due = this.heap[0].due;
    this.armedDue = due;
    let delay = Math.max(due - now, 0);
    if (this.clock === realClock) delay = Math.ceil(delay);
    if (delay > MAX_TIMER_DELAY) {
      delay = MAX_TIMER_DELAY;
      this.armedTarget = now + delay;
    } else {
      this.armedTarget = Math.max(due, now + delay); // never below due, whatever the rounding
    }
    if (this.clock === realClock) {
      // Follow the globals of the moment (fake timers come and go in tests) and remember which
      // pair armed this timer, so it is cleared by the same implementation.
      const set = globalThis.setTimeout;
      this.armedSetter = set;
      this.armedClearer = globalThis.clearTimeout as (handle: unknown) => void;
      this.handle = set(this.onTimer, delay);
    } else {
      this.handle = this.clock.setTimeout(this.onTimer, delay);
    }
  }

  private disarm(): void {
    if (this.handle === undefined) return;
    if (this.armedClearer !== undefined) this.armedClearer(this.handle);
    else this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    this.armedClearer = undefined;
    this.armedTarget = this.armedDue = Infinity;
  }

  /** True when the global timers changed since the timer was armed (fake timers installed). */
  private isStale(): boolean {
    return (
      this.handle !== undefined &&
      this.clock === realClock &&
      this.armedSetter !== globalThis.setTimeout
    );
  }

  private popMin(): TimerEntry {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (last !== top) {
      heap[0] = last;
      last.heapIndex = 0;
      this.siftDown(0);
    }
    top.heapIndex = -1;
    return top;
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    const entry = heap[index];
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex];
      if (parent.due <= entry.due) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    const length = heap.length;
    const entry = heap[index];
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && heap[child + 1].due < heap[child].due) child++;
      if (heap[child].due >= entry.due) break;
      heap[index] = heap[child];
      heap[index].heapIndex = index;
      index = child;
    }
    heap[index] = entry;
    entry.heapIndex = index;
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
