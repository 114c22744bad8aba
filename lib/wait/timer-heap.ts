import type { TimerEntry } from './timer-entry.js';

/*
 * A binary min-heap of timer entries ordered by `due`, in a plain array. Each entry's `heapIndex`
 * is its position, so an entry is removed in O(log n) without a search. Entries with equal due
 * times come out in no particular order. Internal.
 */

/** Adds `entry`, whose `due` is set and which is not in the heap. */
export function heapPush(heap: TimerEntry[], entry: TimerEntry): void {
  entry.heapIndex = heap.length;
  heap.push(entry);
  siftUp(heap, entry.heapIndex);
}

/** Takes the earliest entry out of a non-empty heap; its `heapIndex` becomes -1. */
export function heapPop(heap: TimerEntry[]): TimerEntry {
  const top = heap[0];
  const last = heap.pop()!;
  if (last !== top) {
    heap[0] = last;
    last.heapIndex = 0;
    siftDown(heap, 0);
  }
  top.heapIndex = -1;
  return top;
}

/** Takes `entry` out of the heap, where it is at `index` (its own `heapIndex` already cleared). */
export function heapRemove(heap: TimerEntry[], entry: TimerEntry, index: number): void {
  const last = heap.pop()!;
  if (last !== entry) {
    heap[index] = last;
    last.heapIndex = index;
    siftDown(heap, index);
    siftUp(heap, last.heapIndex);
  }
}

function siftUp(heap: TimerEntry[], index: number): void {
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

function siftDown(heap: TimerEntry[], index: number): void {
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
