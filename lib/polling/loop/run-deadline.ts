import { Deadline, isThenable, RunTimeoutError, type Clock } from '../../wait/internal.js';
import type { PollingContext, PollingFn } from '../polling.interfaces.js';

/**
 * The timeout of one run of a managed loop: a one-shot entry on the loop's timer queue, and the
 * run's own `ctx.signal`, which aborts at the timeout or when the loop stops, whichever is first.
 * A run signal of its own is needed because the loop's signal lives as long as its start: a
 * timeout must not abort the runs after it. Its AbortController is made when the run first reads
 * `signal`, as the loop's is.
 *
 * Runs still never overlap: the loop waits for a timed-out run to settle (cooperative, as
 * cockatiel's cooperative timeout), and it counts as failed with a {@link RunTimeoutError}
 * however it settles.
 */
export class RunDeadline {
  /** The timeout passed while the run was in flight. */
  expired = false;
  private controller: AbortController | undefined = undefined;
  private aborted = false;
  private reason: unknown = undefined;
  private readonly timer: Deadline;

  constructor(
    private readonly clock: Clock,
    private readonly loop: string,
    private readonly timeout: number,
    private readonly started: number,
    /** Told at the timeout, before the run settles (a run ignoring its signal may never). */
    private readonly onExpired: () => void,
  ) {
    this.timer = new Deadline(clock, () => this.expire()).at(started + timeout);
  }

  /** The run's signal (aborted already if the loop stopped or the timeout passed). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** The run's signal if it was read; `undefined` if the run never asked for it. */
  get readSignal(): AbortSignal | undefined {
    return this.controller?.signal;
  }

  /** The loop stops (or its gate closed): the run's signal aborts with the loop's reason. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  /** The timeout passed with the run still in flight. */
  private expire(): void {
    // A run the stop aborted first is settling for the stop's sake, within shutdownTimeout.
    if (this.aborted) return;
    this.expired = true;
    this.abort(new RunTimeoutError(this.loop, this.timeout));
    this.onExpired();
  }

  /** Calls `fn` and settles as it does, except that a run past its timeout fails with it. */
  call(fn: PollingFn, ctx: PollingContext): unknown {
    let result: unknown;
    try {
      result = fn(ctx);
    } catch (error) {
      this.timer.cancel();
      throw error;
    }
    if (!isThenable(result)) {
      this.timer.cancel();
      // A synchronous run holds the event loop, so the timer cannot have fired: read the clock.
      if (this.clock.now() - this.started > this.timeout) {
        throw new RunTimeoutError(this.loop, this.timeout);
      }
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        this.timer.cancel();
        if (this.expired) throw this.timeoutError(undefined);
        return value;
      },
      (error: unknown) => {
        this.timer.cancel();
        throw this.expired ? this.timeoutError(error) : error;
      },
    );
  }

  /** The abort reason, with what the run rejected with as its `cause` when that was not it. */
  private timeoutError(rejection: unknown): RunTimeoutError {
    const error = this.reason as RunTimeoutError;
    if (rejection !== undefined && rejection !== error) {
      Object.defineProperty(error, 'cause', {
        value: rejection,
        configurable: true,
        writable: true,
      });
    }
    return error;
  }
}
