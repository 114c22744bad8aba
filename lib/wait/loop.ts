import type { Clock } from './clock.js';
import { unwatchSignal, watchSignal, type SignalMember } from './signal-group.js';
import { queueFor, STARTING, type TimerEntry, type TimerQueue } from './timer-queue.js';

/** What each run of a loop receives. */
export interface LoopContext {
  /** Aborts with the loop's stop signal: pass it on to cancellable work (fetch, queries). */
  readonly signal: AbortSignal;
  /** The number of this run: 1 for the first. */
  readonly iteration: number;
  /**
   * The loop's name under the WaitModule or a `PollingRegistry` (default `'ClassName.methodName'`);
   * `undefined` for the engine's functions, whose loops have no name.
   */
  readonly name?: string;
  /**
   * Leader election: the fencing token of the leadership term this run belongs to. Every new term
   * of a lease gets a greater token than all earlier ones, so a downstream store that keeps the
   * greatest token it has seen can refuse writes from a leader that has been replaced.
   * `undefined` for loops that are not leader-only.
   */
  readonly fencingToken?: number;
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
  /** The wait last planned, so that a re-plan can find where it started. */
  private plannedWait = 0;
  /** Non-sliding: the absolute target of the wait planned (the queue may move `due` up to now). */
  private target = 0;
  /** Whether the planned wait starts when the run settles (else it has an absolute target). */
  private waitFromSettle = false;
  /** A run was asked for while one was in flight: it follows at once. */
  private rerun = false;
  private resolveDone: ((value: void) => void) | undefined = undefined;
  private rejectDone: ((reason: unknown) => void) | undefined = undefined;
  readonly queue: TimerQueue;

  constructor(
    protected readonly fn: LoopFn,
    readonly signal: AbortSignal,
    protected sliding: boolean,
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

  /**
   * Called as each run starts, with the batch's time; returns the run's context. Subclasses add
   * to the context (a name) or take note of the start; must not throw.
   */
  protected beginRun(iteration: number, _now: number): LoopContext {
    return { signal: this.signal, iteration };
  }

  /**
   * After a failed run that `onError` took, the wait before the next run when it differs from the
   * normal plan (a backoff), counted from when the run settled; `undefined` keeps the plan.
   * Must not throw.
   */
  protected retryWait(): number | undefined {
    return undefined;
  }

  /** Whether the stop signal keeps the next run from starting. */
  protected blockedByStop(): boolean {
    return this.signal.aborted;
  }

  /**
   * Asks to hear of the stop signal's abort through {@link LoopCore.onAbort}: by default a share of
   * the signal's one listener. An owner that aborts the signal itself may call onAbort() instead.
   */
  protected watchStop(): void {
    watchSignal(this.signal, this);
  }

  /** Undoes {@link LoopCore.watchStop}; called once when the loop ends. */
  protected unwatchStop(): void {
    unwatchSignal(this.signal, this);
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
      this.launch(initialDelay);
    });
  }

  /**
   * As {@link LoopCore.start}, without the promise: an owner that learns of the end through
   * {@link LoopCore.ended} saves two promises a start (the registry starts thousands at bootstrap).
   */
  launch(initialDelay = 0): void {
    if (this.blockedByStop()) return this.stopped();
    if (!this.signal.aborted) this.watchStop();
    if (initialDelay > 0) this.queue.add(this, this.queue.clock.now() + initialDelay);
    else this.queue.addNow(this);
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
      const wait = this.waitOrEnd();
      if (wait === undefined) return;
      const next = this.due + wait;
      this.due = next <= now ? now + wait : next;
      this.plannedWait = wait;
      this.target = this.due;
    }
    const context = this.beginRun(iteration, now);
    let result: unknown;
    try {
      // Called as a method: `this` is the core (the managed loop's one body function needs it).
      result = this.fn(context);
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

  /**
   * Runs the loop now: at once when it is waiting, right after the run in flight otherwise. Calls
   * made before that run starts are served by it. Does nothing once the loop has ended.
   */
  runNow(): void {
    if (this.state === RUNNING) {
      this.rerun = true;
    } else if (this.state === WAITING && this.heapIndex !== STARTING) {
      this.queue.remove(this);
      this.queue.addNow(this);
    }
  }

  /**
   * Asks {@link LoopCore.nextWait} again for the wait in progress, keeping where it started: the
   * end of the last run (sliding) or its start (non-sliding). A target already passed runs at
   * once. The first run's initial delay is kept.
   */
  replan(): void {
    if (this.state === RUNNING) {
      if (this.sliding) return; // the wait is asked for when the run settles
      const wait = this.waitOrEnd();
      if (wait === undefined) return;
      this.due += wait - this.plannedWait;
      this.target = this.due;
      this.plannedWait = wait;
      return;
    }
    if (this.state !== WAITING || this.iteration === 0 || this.heapIndex === STARTING) return;
    const queued = this.heapIndex >= 0;
    const wait = this.waitOrEnd();
    if (wait === undefined) return;
    this.queue.remove(this);
    if (!queued && this.waitFromSettle) return this.waitAfter(wait); // starts at the next read
    const target = (this.waitFromSettle ? this.due : this.target) - this.plannedWait + wait;
    this.plannedWait = wait;
    this.waitFromSettle = false;
    this.target = target;
    this.queue.add(this, Math.max(target, this.queue.clock.now()));
  }

  /**
   * Switches between sliding and non-sliding from the next wait on; the wait in progress stays.
   * A run in flight that started sliding gets its non-sliding target from its own start.
   */
  setSliding(sliding: boolean): void {
    if (sliding === this.sliding) return;
    this.sliding = sliding;
    if (this.state === RUNNING && !sliding) {
      const wait = this.waitOrEnd();
      if (wait === undefined) return;
      this.due += wait;
      this.target = this.due;
      this.plannedWait = wait;
    }
  }

  /** Whether a run is in flight. */
  get running(): boolean {
    return this.state === RUNNING;
  }

  /** When the next run is planned, in the clock's milliseconds; `undefined` when none is. */
  get nextRunAt(): number | undefined {
    if (this.state === WAITING) {
      const due = this.queue.dueOf(this);
      if (due !== undefined || this.heapIndex === -1) return due;
      // Held back until the next clock read (a run settled in this microtask burst).
      const now = this.queue.clock.now();
      return this.waitFromSettle ? now + this.plannedWait : Math.max(this.due, now);
    }
    return this.state === RUNNING && !this.sliding && !this.rerun ? this.due : undefined;
  }

  private succeeded(result: unknown): void {
    if (this.state !== RUNNING) return;
    if (this.concluded(result)) return;
    this.proceed(false);
  }

  private failed(error: unknown): void {
    if (this.state !== RUNNING) return;
    if (this.onError === undefined) return this.finish(error, true);
    try {
      this.onError(error);
    } catch (fatal) {
      return this.finish(fatal, true);
    }
    this.proceed(true);
  }

  private proceed(afterFailure: boolean): void {
    if (this.blockedByStop()) return this.stopped();
    this.state = WAITING;
    if (this.rerun) {
      this.rerun = false;
      return this.queue.addNow(this);
    }
    if (afterFailure) {
      const retry = this.retryWait();
      if (retry !== undefined) return this.waitAfter(retry);
    }
    if (!this.sliding) {
      this.waitFromSettle = false;
      return this.queue.addAtLeast(this, this.due);
    }
    const wait = this.waitOrEnd();
    if (wait !== undefined) this.waitAfter(wait);
  }

  private waitAfter(wait: number): void {
    this.plannedWait = wait;
    this.waitFromSettle = true;
    this.queue.addAfter(this, wait);
  }

  /** nextWait(); `undefined` once it threw, which ends the loop with what it threw. */
  private waitOrEnd(): number | undefined {
    try {
      return this.nextWait();
    } catch (error) {
      this.finish(error, true);
      return undefined;
    }
  }

  /** Ends the loop: resolves, or rejects with `error`. Idempotent. */
  protected finish(error: unknown, failed: boolean): void {
    if (this.state === DONE) return;
    this.state = DONE;
    this.queue.remove(this);
    this.unwatchStop();
    const resolve = this.resolveDone;
    const reject = this.rejectDone;
    this.resolveDone = this.rejectDone = undefined;
    if (failed) reject?.(error);
    else resolve?.();
    this.ended(error, failed);
  }

  /** Called once, synchronously, when the loop has ended (after its promise settled). */
  protected ended(_error: unknown, _failed: boolean): void {}
}

/** Internal: whether a run's result is a promise (or any thenable) to wait for. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
