import type { BackoffManager } from './backoff-manager.js';
import type { Clock } from './clock.js';
import { applyJitter } from './jitter.js';
import type { LoopFn } from './loop.js';
import { LoopCore } from './loop-core.js';
import { RESOLVED, rejectWith, type LoopEnd, type LoopStrategy } from './loop-strategy.js';
import { unwatchSignal, watchSignal, type SignalMember } from './signal-group.js';
import { messages } from './wait.messages.js';

/**
 * The strategy of `until` and its siblings: waits from a backoff manager or a (jittered) period,
 * a run's error to `onError` (without it, the first error ends the loop), ended by the stop
 * signal, whose abort it relays to the core as a member of the signal's one listener.
 */
export class UntilLoop implements LoopStrategy, SignalMember {
  groupPrev: SignalMember | null = null;
  groupNext: SignalMember | null = null;
  private readonly core: LoopCore;
  private resolve: () => void = noop;
  private reject: (error: unknown) => void = noop;

  constructor(
    private readonly fn: LoopFn,
    private readonly stop: AbortSignal,
    sliding: boolean,
    clock: Clock,
    private readonly onError: ((error: unknown) => void) | undefined,
    /** The waits: the backoff manager's when there is one, else `period` jittered when > 0. */
    private readonly manager: BackoffManager | undefined,
    private readonly period: number,
    private readonly jitterFactor: number,
    private readonly random: () => number,
  ) {
    this.core = new LoopCore(this, sliding, clock);
  }

  nextWait(): number {
    const { manager, period, jitterFactor, random } = this;
    if (manager === undefined) {
      return jitterFactor > 0 ? applyJitter(period, jitterFactor, random) : period;
    }
    const wait = manager.backoff();
    if (typeof wait !== 'number' || !Number.isFinite(wait) || wait < 0) {
      throw new RangeError(messages.badWait('backoffUntil()', wait));
    }
    return wait;
  }

  /** Starts the loop; the promise settles once it has ended and no run is in flight. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      if (this.stop.aborted) this.core.stop();
      else watchSignal(this.stop, this);
      this.core.start();
    });
  }

  /** SignalMember: the stop signal aborted. A run in flight finishes first. */
  onAbort(): void {
    this.core.stop();
  }

  retryWait(): undefined {
    return undefined;
  }

  /** The signal is read as well: an abort whose event never reached the loop still stops it. */
  admit(): LoopEnd | undefined {
    return this.stop.aborted ? RESOLVED : undefined;
  }

  run(iteration: number): unknown {
    return this.fn({ signal: this.stop, iteration });
  }

  settled(failed: boolean, error: unknown): LoopEnd | undefined {
    if (failed) {
      if (this.onError === undefined) return rejectWith(error);
      try {
        this.onError(error);
      } catch (fatal) {
        return rejectWith(fatal);
      }
    }
    return undefined;
  }

  ended(end: LoopEnd): void {
    unwatchSignal(this.stop, this);
    if (end.failed) this.reject(end.error);
    else this.resolve();
  }
}

function noop(): void {}
