import type { Backoff } from './backoff.js';
import type { Clock } from './clock.js';
import { WaitTimeoutError } from './errors.js';
import { LoopCore } from './loop-core.js';
import { RESOLVED, rejectWith, type LoopEnd, type LoopStrategy } from './loop-strategy.js';
import { unwatchSignal, watchSignal, type SignalMember } from './signal-group.js';

/** A condition for {@link poll} and {@link exponentialBackoff}: `true` ends the wait. */
export type ConditionFn = (ctx: { readonly signal: AbortSignal }) => boolean | Promise<boolean>;

/**
 * The strategy of `poll` (fixed interval) and `exponentialBackoff` (waits from a {@link Backoff}
 * with a budget of steps). It resolves when the condition returns `true`, and rejects with the
 * condition's error, with the signal's reason when stopped, or with `WaitTimeoutError` when the
 * steps run out. Internal.
 */
export class ConditionLoop implements LoopStrategy, SignalMember {
  groupPrev: SignalMember | null = null;
  groupNext: SignalMember | null = null;
  private readonly core: LoopCore;
  private resolve: () => void = noop;
  private reject: (error: unknown) => void = noop;

  constructor(
    private readonly condition: ConditionFn,
    private readonly signal: AbortSignal,
    sliding: boolean,
    clock: Clock,
    private readonly waits: number | Backoff,
    /** Run the first time even when the signal has already aborted (Go's `immediate`). */
    private readonly immediate: boolean,
  ) {
    this.core = new LoopCore(this, sliding, clock);
  }

  /** Starts the loop with its first call after `initialDelay` ms. */
  start(initialDelay = 0): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      const { signal } = this;
      // Immediate: the first call is made all the same, and its outcome is read against the
      // signal by admit() once the call has settled.
      if (!signal.aborted) watchSignal(signal, this);
      else if (!this.immediate) this.core.stop(rejectWith(signal.reason));
      this.core.start(initialDelay);
    });
  }

  /** SignalMember: the signal aborted; a call in flight is waited for, and its `true` still wins. */
  onAbort(): void {
    this.core.stop(rejectWith(this.signal.reason));
  }

  nextWait(): number {
    return typeof this.waits === 'number' ? this.waits : this.waits.step();
  }

  retryWait(): undefined {
    return undefined;
  }

  /**
   * The signal is read as well (an abort whose event never reached the loop still stops it), and
   * Go checks `Steps > 0` before each call: a step that reached the cap left none.
   */
  admit(): LoopEnd | undefined {
    const { signal } = this;
    if (signal.aborted && !(this.immediate && this.core.iteration === 0)) {
      return rejectWith(signal.reason);
    }
    if (typeof this.waits === 'number' || this.waits.steps >= 1) return undefined;
    return rejectWith(new WaitTimeoutError());
  }

  run(): unknown {
    return this.condition({ signal: this.signal });
  }

  settled(failed: boolean, value: unknown): LoopEnd | undefined {
    if (failed) return rejectWith(value);
    if (value === true) return RESOLVED;
    // Go does not sleep after the last step's call: it times out at once.
    if (typeof this.waits !== 'number' && this.waits.steps <= 1) {
      return rejectWith(new WaitTimeoutError());
    }
    return undefined;
  }

  ended(end: LoopEnd): void {
    unwatchSignal(this.signal, this);
    if (end.failed) this.reject(end.error);
    else this.resolve();
  }
}

function noop(): void {}
