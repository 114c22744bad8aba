import { realClock, type Clock } from './clock.js';

/** Node clamps longer delays to 1 ms; longer waits are armed in chunks of this size. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * The one timer a `TimerQueue` keeps armed on its clock, for its earliest entry. On
 * `realClock` delays are armed in whole milliseconds, and the timer follows the global
 * `setTimeout` of the moment (fake timers come and go in tests) and is cleared by the same
 * implementation that armed it. Internal.
 */
export class ArmedTimer {
  private handle: unknown = undefined;
  /** The time the armed timer stands for; Infinity when none is armed. */
  private target = Infinity;
  /** The due time of the entry the timer was armed for: an earlier one needs a new timer. */
  due = Infinity;
  /** realClock only: the global `setTimeout`/`clearTimeout` the armed timer came from. */
  private setter: unknown = undefined;
  private clearer: ((handle: unknown) => void) | undefined = undefined;

  /** @param onTimer - called when the armed timer fires; then call {@link fired}. */
  constructor(
    private readonly clock: Clock,
    private readonly onTimer: () => void,
  ) {}

  /**
   * Clears the armed timer, then arms it for an entry due at `due` (none when `undefined`). It
   * fires no earlier than `due`, or after Node's longest delay for a wait longer than that.
   */
  rearm(due: number | undefined): void {
    this.disarm();
    if (due === undefined) return;
    const now = this.clock.now();
    this.due = due;
    let delay = Math.max(due - now, 0);
    if (this.clock === realClock) delay = Math.ceil(delay);
    if (delay > MAX_TIMER_DELAY) {
      delay = MAX_TIMER_DELAY;
      this.target = now + delay;
    } else {
      this.target = Math.max(due, now + delay); // never below due, whatever the rounding
    }
    if (this.clock === realClock) {
      // Follow the globals of the moment and remember which pair armed this timer, so it is
      // cleared by the same implementation.
      const set = globalThis.setTimeout;
      this.setter = set;
      this.clearer = globalThis.clearTimeout as (handle: unknown) => void;
      this.handle = set(this.onTimer, delay);
    } else {
      this.handle = this.clock.setTimeout(this.onTimer, delay);
    }
  }

  /** The timer fired: returns the time it stood for, and is no longer armed. */
  fired(): number {
    this.handle = undefined;
    const target = this.target;
    this.target = this.due = Infinity;
    return target;
  }

  /** Clears the armed timer; harmless when none is armed. */
  disarm(): void {
    if (this.handle === undefined) return;
    if (this.clearer !== undefined) this.clearer(this.handle);
    else this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    this.clearer = undefined;
    this.target = this.due = Infinity;
  }

  /** True when the global timers changed since the timer was armed (fake timers installed). */
  get stale(): boolean {
    return (
      this.handle !== undefined && this.clock === realClock && this.setter !== globalThis.setTimeout
    );
  }
}
