import { realClock, type Clock } from './clock.js';

/**
 * One armed timer per clock, shared by every loop on that clock.
 *
 * Why: a Node `Timeout` per loop, plus the loop's promise, already costs about 1.7x the memory of
 * a bare `setTimeout` chain. Entries sit in a binary min-heap ordered by due time, and only the
 * earliest is armed on the clock, the way Node itself shares one native timer among its timer
 * lists. Internal.
 *
 * Two rules keep time honest:
 * - a timer that fired means its target time has come: entries due up to that target run even if
 *   `clock.now()` reads a hair earlier (Node rounds timers to whole milliseconds), so cadence does
 *   not slip;
 * - entries scheduled while a batch runs wait for the next timer turn, so a zero period yields to
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

/** Resolved once: flushes of deferred entries are its callbacks (fake timers cannot stall it). */
const settled = Promise.resolve();

/** heapIndex of an entry waiting in the deferred list. */
const DEFERRED = -2;

/** Node clamps longer delays to 1 ms; longer waits are armed in chunks of this size. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** The shared timer of one clock; see the file comment. */
export class TimerQueue {
  private readonly heap: TimerEntry[] = [];
  /** Entries popped for the running batch; reused so a batch allocates nothing. */
  private readonly batch: TimerEntry[] = [];
  /** Entries whose wait starts at the next clock read (see addAfter). */
  private readonly deferred: TimerEntry[] = [];
  private handle: unknown = undefined;
  /** The time the armed timer stands for; Infinity when none is armed. */
  private armedTarget = Infinity;
  /** realClock only: the global `setTimeout`/`clearTimeout` the armed timer came from. */
  private armedSetter: unknown = undefined;
  private armedClearer: ((handle: unknown) => void) | undefined = undefined;
  private firing = false;
  private flushScheduled = false;
  private readonly onTimer = (): void => this.runDue();
  private readonly onFlush = (): void => {
    this.flushScheduled = false;
    if (this.firing) return; // the batch under way takes them
    this.addDeferred();
    if (this.heap.length > 0 && (this.heap[0].due < this.armedTarget || this.isStale())) this.arm();
  };

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
    if (!this.firing && (due < this.armedTarget || this.isStale())) this.arm();
  }

  /**
   * Queues `entry` to fire `wait` ms after now, where "now" is read once for every entry that
   * asks in the same batch or the same burst of promise callbacks: at the end of the batch, or in
   * a microtask after the burst. Each wait so starts no earlier than the moment it was asked for
   * (a sliding loop's run settling), for one clock read per batch instead of one per run.
   */
  addAfter(entry: TimerEntry, wait: number): void {
    entry.due = wait;
    entry.heapIndex = DEFERRED;
    this.deferred.push(entry);
    if (!this.firing && !this.flushScheduled) {
      this.flushScheduled = true;
      void settled.then(this.onFlush);
    }
  }

  /** Dequeues `entry` if queued. The armed timer stays (it fires harmlessly) unless none is left. */
  remove(entry: TimerEntry): void {
    const index = entry.heapIndex;
    entry.heapIndex = -1; // a deferred entry is skipped when the batch ends
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

  private runDue(): void {
    this.handle = undefined;
    const target = Math.max(this.clock.now(), this.armedTarget);
    this.armedTarget = Infinity;
    // Real timers are whole milliseconds: whatever falls due within the next one joins this batch
    // instead of costing another timer turn and a millisecond of lateness.
    const horizon = this.clock === realClock ? target + 1 : target;
    const { heap, batch } = this;
    while (heap.length > 0 && heap[0].due <= horizon) batch.push(this.popMin());
    this.firing = true;
    try {
      for (let i = 0; i < batch.length; i++) batch[i].fire(target);
    } finally {
      batch.length = 0;
      this.firing = false;
      this.addDeferred();
      this.arm();
    }
  }

  private addDeferred(): void {
    const deferred = this.deferred;
    if (deferred.length === 0) return;
    const now = this.clock.now();
    const heap = this.heap;
    for (let i = 0; i < deferred.length; i++) {
      const entry = deferred[i];
      if (entry.heapIndex !== DEFERRED) continue; // removed, or queued again, meanwhile
      entry.due += now;
      entry.heapIndex = heap.length;
      heap.push(entry);
      this.siftUp(entry.heapIndex);
    }
    deferred.length = 0;
  }

  private arm(): void {
    this.disarm();
    if (this.heap.length === 0) return;
    const now = this.clock.now();
    const due = this.heap[0].due;
    const delay = Math.min(Math.max(due - now, 0), MAX_TIMER_DELAY);
    this.armedTarget = delay === MAX_TIMER_DELAY ? now + delay : due;
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
    this.armedTarget = Infinity;
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
