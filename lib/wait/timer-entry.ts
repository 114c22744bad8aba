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
 * heapIndex of an entry held back (see TimerQueue.holdBack) to start in the next microtask. Two
 * markers, this one and {@link HELD_BACK}, so that an entry started again while held back (a
 * trigger) cannot fire twice from two lists.
 */
export const STARTING = -2;

/** heapIndex of an entry held back with a wait that starts at the next clock read. */
export const HELD_BACK = -3;
