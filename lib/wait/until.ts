import { realClock, type Clock } from './clock.js';
import type { BackoffManager } from './backoff-manager.js';
import { toMillis, type CheckedDuration, type Duration } from './duration.js';
import { applyJitter } from './jitter.js';
import type { LoopFn, LoopOptions } from './loop.js';
import { LoopCore, RESOLVED, rejectWith, type LoopEnd, type LoopStrategy } from './loop-core.js';
import { unwatchSignal, watchSignal, type SignalMember } from './signal-group.js';
import { messages } from './wait.messages.js';
import {
  checkClock,
  checkFinite,
  checkFunction,
  checkObject,
  checkOptionalFunction,
  checkSignal,
} from './validate.js';

/** A stop signal that never aborts: pass it to run a loop for the life of the process. */
export const NEVER_STOP: AbortSignal = new AbortController().signal;

/**
 * The strategy of `until` and its siblings: waits from `waits()`, a run's error to `onError`
 * (without it, the first error ends the loop), ended by the stop signal, whose abort it relays
 * to the core as a member of the signal's one listener.
 */
class UntilLoop implements LoopStrategy, SignalMember {
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

interface CheckedOptions {
  clock: Clock;
  random: () => number;
  onError: ((error: unknown) => void) | undefined;
}

function checkOptions(options: LoopOptions | undefined, where: string): CheckedOptions {
  if (options === undefined) return { clock: realClock, random: Math.random, onError: undefined };
  checkObject(options, where, 'options');
  return {
    clock: options.clock === undefined ? realClock : checkClock(options.clock, where),
    random: checkOptionalFunction(options.random, where, 'options.random') ?? Math.random,
    onError: checkOptionalFunction(options.onError, where, 'options.onError'),
  };
}

/**
 * Go's `wait.Until`: runs `fn` at once, then again `period` after each run settles (sliding), until
 * `stop` aborts. Never two runs at once; `fn` never starts after the abort.
 *
 * @returns a promise that resolves once `stop` has aborted and the run in flight has settled, or
 *   rejects with the first error of `fn` when `options.onError` is not set.
 */
export function until<const P extends Duration>(
  fn: LoopFn,
  period: CheckedDuration<P>,
  stop: AbortSignal,
  options?: LoopOptions,
): Promise<void> {
  return startJitterLoop('until()', fn, period, 0, true, stop, options);
}

/**
 * Go's `wait.NonSlidingUntil`: as {@link until}, but the period starts when a run starts, so it
 * includes the run's time; a run longer than the period is followed at once by the next. Targets
 * are absolute (`start + n * period`), so timer lateness does not accumulate.
 */
export function nonSlidingUntil<const P extends Duration>(
  fn: LoopFn,
  period: CheckedDuration<P>,
  stop: AbortSignal,
  options?: LoopOptions,
): Promise<void> {
  return startJitterLoop('nonSlidingUntil()', fn, period, 0, false, stop, options);
}

/**
 * Go's `wait.JitterUntil`: as {@link until}, with each wait drawn from
 * `[period, period * (1 + jitterFactor))` when `jitterFactor > 0` (`<= 0` means no jitter), and
 * a choice of sliding (`true`: the wait starts after the run) or non-sliding (`false`).
 */
export function jitterUntil<const P extends Duration>(
  fn: LoopFn,
  period: CheckedDuration<P>,
  jitterFactor: number,
  sliding: boolean,
  stop: AbortSignal,
  options?: LoopOptions,
): Promise<void> {
  return startJitterLoop('jitterUntil()', fn, period, jitterFactor, sliding, stop, options);
}

/**
 * Go's `wait.Forever`: {@link until} with {@link NEVER_STOP}. The promise never resolves; it
 * rejects with the first error of `fn` when `options.onError` is not set.
 */
export function forever<const P extends Duration>(
  fn: LoopFn,
  period: CheckedDuration<P>,
  options?: LoopOptions,
): Promise<never> {
  return startJitterLoop('forever()', fn, period, 0, true, NEVER_STOP, options) as Promise<never>;
}

/**
 * Go's `wait.BackoffUntil`: as {@link jitterUntil}, with each wait taken from `backoff.backoff()`
 * (before the run when non-sliding, after it when sliding).
 */
export function backoffUntil(
  fn: LoopFn,
  backoff: BackoffManager,
  sliding: boolean,
  stop: AbortSignal,
  options?: LoopOptions,
): Promise<void> {
  const where = 'backoffUntil()';
  checkFunction(fn, where, 'fn');
  if (typeof (backoff as BackoffManager | null)?.backoff !== 'function') {
    throw new TypeError(messages.backoffManager(where, backoff));
  }
  checkSignal(stop, where);
  const o = checkOptions(options, where);
  const { clock, onError, random } = o;
  return new UntilLoop(fn, stop, Boolean(sliding), clock, onError, backoff, 0, 0, random).start();
}

function startJitterLoop(
  where: string,
  fn: LoopFn,
  period: Duration,
  jitterFactor: number,
  sliding: boolean,
  stop: AbortSignal,
  options: LoopOptions | undefined,
): Promise<void> {
  checkFunction(fn, where, 'fn');
  const ms = toMillis(period, where, 'period');
  checkFinite(jitterFactor, where, 'jitterFactor');
  checkSignal(stop, where);
  const o = checkOptions(options, where);
  const { clock, onError, random } = o;
  return new UntilLoop(
    fn,
    stop,
    Boolean(sliding),
    clock,
    onError,
    undefined,
    ms,
    jitterFactor,
    random,
  ).start();
}
