import type { Backoff } from './backoff.js';
import type { Clock } from './clock.js';
import { WaitTimeoutError } from './errors.js';
import { LoopCore } from './loop.js';

/** A condition for {@link poll} and {@link exponentialBackoff}: `true` ends the wait. */
export type ConditionFn = (ctx: { readonly signal: AbortSignal }) => boolean | Promise<boolean>;

/**
 * The loop core driven by a condition, for `poll` (fixed interval) and `exponentialBackoff`
 * (waits from a {@link Backoff} with a budget of steps). It resolves when the condition returns
 * `true`, and rejects with the condition's error, with the signal's reason when stopped, or with
 * `WaitTimeoutError` when the steps run out. Internal.
 */
export class ConditionLoop extends LoopCore {
  constructor(
    condition: ConditionFn,
    signal: AbortSignal,
    sliding: boolean,
    clock: Clock,
    private readonly waits: number | Backoff,
    /** Run the first time even when the signal has already aborted (Go's `immediate`). */
    private readonly immediate: boolean,
  ) {
    super(condition, signal, sliding, clock, undefined);
  }

  protected nextWait(): number {
    return typeof this.waits === 'number' ? this.waits : this.waits.step();
  }

  protected override blockedByStop(): boolean {
    return this.signal.aborted && !(this.immediate && this.iteration === 0);
  }

  /** Go checks `Steps > 0` before each call: a step that reached the cap left none. */
  protected override exhausted(): boolean {
    if (typeof this.waits === 'number' || this.waits.steps >= 1) return false;
    this.timedOut();
    return true;
  }

  protected override concluded(result: unknown): boolean {
    if (result === true) {
      this.finish(undefined, false);
      return true;
    }
    // Go does not sleep after the last step's call: it times out at once.
    if (typeof this.waits === 'number' || this.waits.steps > 1) return false;
    this.timedOut();
    return true;
  }

  protected override stopped(): void {
    this.finish(this.signal.reason, true);
  }

  private timedOut(): void {
    this.finish(new WaitTimeoutError(), true);
  }
}
