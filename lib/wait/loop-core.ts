import type { Clock } from './clock.js';
import { RESOLVED, rejectWith, type LoopEnd, type LoopStrategy } from './loop-strategy.js';
import { isThenable } from './thenable.js';
import { queueFor, STARTING, type TimerEntry, type TimerQueue } from './timer-queue.js';

// The core's state and flags share one small integer (`bits`): a field less per flag, on every
// loop (the registry keeps 100,000 of them).
const WAITING = 0;
const RUNNING = 1;
const DONE = 2;
const STATE = 3;
/** The wait starts when a run settles (else it starts before the run, against a target). */
const SLIDING = 4;
/** The planned wait starts when the run settled (else it has an absolute target). */
const FROM_SETTLE = 8;
/** A run was asked for while one was in flight: it follows at once. */
const RERUN = 16;

/**
 * The one loop core behind every loop of the package: `until` and its siblings, `poll`,
 * `exponentialBackoff`, the Nest layer's managed loops and the leader elector, each through its
 * own {@link LoopStrategy}. The stop check before every run, sliding versus non-sliding waits,
 * overlap-freedom and settling live here alone. The core is stopped explicitly with
 * {@link LoopCore.stop}; a loop that has a stop signal relays its abort.
 *
 * A run that returns synchronously allocates nothing here: no promise, no listener. Internal.
 */
export class LoopCore implements TimerEntry {
  due = 0;
  heapIndex = -1;
  /** Runs started by this core. */
  iteration = 0;
  private bits = WAITING;
  /** How the loop ends once stopped; `undefined` until {@link LoopCore.stop}. */
  private stopEnd: LoopEnd | undefined = undefined;
  /** The wait last planned, so that a re-plan can find where it started. */
  private plannedWait = 0;
  /** Non-sliding: the absolute target of the wait planned (the queue may move `due` up to now). */
  private target = 0;
  readonly queue: TimerQueue;
  /** The callbacks of the runs that return a promise; see settleLater(). */
  private callbacks: SettleCallbacks | undefined = undefined;

  constructor(
    private readonly strategy: LoopStrategy,
    sliding: boolean,
    clock: Clock,
  ) {
    this.queue = queueFor(clock);
    if (sliding) this.bits |= SLIDING;
  }

  private get state(): number {
    return this.bits & STATE;
  }

  private set state(state: number) {
    this.bits = (this.bits & ~STATE) | state;
  }

  private get sliding(): boolean {
    return (this.bits & SLIDING) !== 0;
  }

  private get waitFromSettle(): boolean {
    return (this.bits & FROM_SETTLE) !== 0;
  }

  private set waitFromSettle(on: boolean) {
    this.bits = on ? this.bits | FROM_SETTLE : this.bits & ~FROM_SETTLE;
  }

  private get rerun(): boolean {
    return (this.bits & RERUN) !== 0;
  }

  private set rerun(on: boolean) {
    this.bits = on ? this.bits | RERUN : this.bits & ~RERUN;
  }

  /**
   * Starts the loop: the first run comes after `initialDelay` ms, or in a microtask when it is 0
   * (at once, as in Go, but never inside the caller's stack; loops started in one tick share that
   * microtask). A core stopped before it starts ends here.
   */
  start(initialDelay = 0): void {
    if (this.stopEnd !== undefined) return this.end(this.stopEnd);
    if (initialDelay > 0) this.queue.add(this, this.queue.clock.now() + initialDelay);
    else this.queue.addNow(this);
  }

  /**
   * Stops the loop with `end` (default: it resolves): at once when it is waiting, else when the
   * run in flight has settled, unless that run's outcome ends the loop its own way. The first
   * stop wins.
   */
  stop(end: LoopEnd = RESOLVED): void {
    if (this.stopEnd !== undefined || this.state === DONE) return;
    this.stopEnd = end;
    if (this.state !== WAITING) return;
    this.queue.remove(this);
    this.end(end);
  }

  /** Whether {@link LoopCore.stop} was called. */
  get stopping(): boolean {
    return this.stopEnd !== undefined;
  }

  /** TimerEntry: the wait is over. */
  fire(now: number): void {
    if (this.state !== WAITING) return;
    if (this.stopEnd !== undefined) return this.end(this.stopEnd);
    const refused = this.strategy.admit();
    if (refused !== undefined) return this.end(refused);
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
    let result: unknown;
    try {
      result = this.strategy.run(iteration, now);
    } catch (error) {
      return this.settle(true, error, now);
    }
    if (isThenable(result)) this.settleLater(result);
    else this.settle(false, result, now);
  }

  /**
   * Settles when `result` does, through callbacks made on the first run that returns a promise
   * and kept: none for a loop whose runs return synchronously, and none made a run.
   */
  private settleLater(result: PromiseLike<unknown>): void {
    const callbacks = (this.callbacks ??= settleCallbacks(this));
    try {
      result.then(callbacks.fulfilled, callbacks.rejected);
    } catch (error) {
      this.settle(true, error, undefined);
    }
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
   * Asks the strategy again for the wait in progress, keeping where it started: the end of the
   * last run (sliding) or its start (non-sliding). A target already passed runs at once. The
   * first run's initial delay is kept.
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
    this.bits ^= SLIDING;
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

  /** @internal A run's promise settled (see settleLater()). */
  settled(failed: boolean, value: unknown): void {
    this.settle(failed, value, undefined);
  }

  private settle(failed: boolean, value: unknown, now: number | undefined): void {
    if (this.state !== RUNNING) return;
    const end = this.strategy.settled(failed, value, now);
    if (end !== undefined) return this.end(end);
    if (this.stopEnd !== undefined) return this.end(this.stopEnd);
    const refused = this.strategy.admit();
    if (refused !== undefined) return this.end(refused);
    this.state = WAITING;
    if (this.rerun) {
      this.rerun = false;
      return this.queue.addNow(this);
    }
    if (failed) {
      const retry = this.strategy.retryWait();
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
      return this.strategy.nextWait();
    } catch (error) {
      this.end(rejectWith(error));
      return undefined;
    }
  }

  private end(end: LoopEnd): void {
    if (this.state === DONE) return;
    this.state = DONE;
    this.queue.remove(this);
    this.strategy.ended(end);
  }
}

interface SettleCallbacks {
  readonly fulfilled: (value: unknown) => void;
  readonly rejected: (error: unknown) => void;
}

/** Outside the class: a closure made in one of its methods would capture that method's scope. */
function settleCallbacks(core: LoopCore): SettleCallbacks {
  return {
    fulfilled: (value) => core.settled(false, value),
    rejected: (error) => core.settled(true, error),
  };
}
