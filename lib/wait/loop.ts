import type { Clock } from './clock.js';
import { unwatchSignal, watchSignal, type SignalMember } from './signal-group.js';
import { queueFor, type TimerEntry, type TimerQueue } from './timer-queue.js';

/** What each run of a loop receives. */
export interface LoopContext {
  /** Aborts with the loop's stop signal: pass it on to cancellable work (fetch, queries). */
  readonly signal: AbortSignal;
  /** The number of this run: 1 for the first. */
  readonly iteration: number;
}

/** The body of a loop. It may return a promise; the next run waits until it settles. */
export type LoopFn = (ctx: LoopContext) => unknown;

/** Options shared by every loop function. */
export interface LoopOptions {
  /** Time source and timers. Default `realClock`. */
  clock?: Clock;
  /** Random numbers in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  /**
   * Receives what a run threw or rejected with, and the loop goes on. Default none: the first
   * error ends the loop and rejects its promise (Go re-panics by default). An error thrown by
   * `onError` itself ends the loop the same way.
   */
  onError?: (error: unknown) => void;
}

const WAITING = 0;
const RUNNING = 1;
const DONE = 2;

/**
 * The one loop core behind every loop of the package: `until` and its siblings, `poll`,
 * `exponentialBackoff` (and the Nest layer's registry on top of them). Subclasses decide only how
 * long to wait ({@link LoopCore.nextWait}) and what a run's result means; the stop check before
 * every run, sliding versus non-sliding waits, overlap-freedom, error handling and settling live
 * here alone.
 *
 * A run that returns synchronously allocates nothing but its context object: no promise, no
 * AbortController, no listener. Internal.
 */
export abstract class LoopCore implements TimerEntry, SignalMember {
  due = 0;
  heapIndex = -1;
  groupPrev: SignalMember | null = null;
  groupNext: SignalMember | null = null;
  iteration = 0;
  private state = WAITING;
  private resolveDone: ((value: void) => void) | undefined = undefined;
  private rejectDone: ((reason: unknown) => void) | undefined = undefined;
  readonly queue: TimerQueue;

  constructor(
    protected readonly fn: LoopFn,
    readonly signal: AbortSignal,
    protected readonly sliding: boolean,
    clock: Clock,
    protected readonly onError: ((error: unknown) => void) | undefined,
  ) {
    this.queue = queueFor(clock);
  }

  /** The wait before the next run, in milliseconds. */
  protected abstract nextWait(): number;

  /** Called with what a run returned; returns true once it has ended the loop. */
  protected concluded(_result: unknown): boolean {
    return false;
  }

  /** Called before each run; returns true once it has ended the loop instead. */
  protected exhausted(): boolean {
    return false;
  }

  /** Whether the stop signal keeps the next run from starting. */
  protected blockedByStop(): boolean {
    return this.signal.aborted;
  }

  /** Ends the loop because its signal aborted. `until` and its siblings resolve. */
  protected stopped(): void {
    this.finish(undefined, false);
  }

  /**
   * Starts the loop: the first run comes after `initialDelay` ms, or in a microtask when it is
   * 0 (at once, as in Go, but never inside the caller's stack; loops started in one tick share
   * that microtask). The promise settles when the loop has ended and no run is in flight.
   */
  start(initialDelay = 0): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
      if (this.blockedByStop()) {
        this.stopped();
        return;
      }
      if (!this.signal.aborted) watchSignal(this.signal, this);
      if (initialDelay > 0) this.queue.add(this, this.queue.clock.now() + initialDelay);
      else this.queue.addNow(this);
    });
  }

  /** TimerEntry: the wait is over. */
  fire(now: number): void {
    if (this.state !== WAITING) return;
    if (this.blockedByStop()) return this.stopped();
    if (this.exhausted()) return;
    this.state = RUNNING;
    const iteration = ++this.iteration;
    if (!this.sliding) {
      // Non-sliding: the next wait starts before the run, against an absolute target so that
      // timer lateness does not add up. A run a whole period late has missed a beat: it
      // re-anchors at its own start instead of running twice at once (Go never catches up).
      const wait = this.safeWait();
      if (wait < 0) return;
      const next = this.due + wait;
      this.due = next <= now ? now + wait : next;
    }
    let result: unknown;
    try {
      result = this.fn({ signal: this.signal, iteration });
    } catch (error) {
      return this.failed(error);
    }
    if (isThenable(result)) {
      try {
        result.then(
          (value) => this.succeeded(value),
          (error) => this.failed(error),
        );
      } catch (error) {
        this.failed(error);
      }
    } else {
      this.succeeded(result);
    }
  }

  /** SignalMember: the stop signal aborted. A run in flight finishes first. */
  onAbort(): void {
    if (this.state !== WAITING) return;
    this.queue.remove(this);
    this.stopped();
  }

  private succeeded(result: unknown): void {
    if (this.state !== RUNNING) return;
    if (this.concluded(result)) return;
    this.proceed();
  }

  private failed(error: unknown): void {
    if (this.state !== RUNNING) return;
    if (this.onError === undefined) return this.finish(error, true);
    try {
      this.onError(error);
    } catch (fatal) {
      return this.finish(fatal, true);
    }
    this.proceed();
  }

  private proceed(): void {
    if (this.blockedByStop()) return this.stopped();
    this.state = WAITING;
    if (!this.sliding) return this.queue.addAtLeast(this, this.due);
    const wait = this.safeWait();
    if (wait >= 0) this.queue.addAfter(this, wait);
  }

  /** nextWait(), or -1 after ending the loop with what it threw. */
  private safeWait(): number {
    try {
      return this.nextWait();
    } catch (error) {
      this.finish(error, true);
      return -1;
    }
  }

  /** Ends the loop: resolves, or rejects with `error`. Idempotent. */
  protected finish(error: unknown, failed: boolean): void {
    if (this.state === DONE) return;
    this.state = DONE;
    this.queue.remove(this);
    unwatchSignal(this.signal, this);
    const resolve = this.resolveDone;
    const reject = this.rejectDone;
    this.resolveDone = this.rejectDone = undefined;
    if (failed) reject?.(error);
    else resolve?.();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
