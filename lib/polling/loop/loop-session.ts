import {
  applyJitter,
  isInterrupted,
  LoopCore,
  RESOLVED,
  rejectWith,
  type LoopEnd,
  type LoopStrategy,
} from '../../wait/internal.js';
import type { ManagedLoop } from './managed-loop.js';
import { runContext, type SignalSource } from './run-context.js';
import { RunDeadline } from './run-deadline.js';

/**
 * One start of a managed loop (or one triggered run of a stopped one): the strategy its loop
 * core runs. Stopped through {@link LoopSession.abort}, which aborts the runs' signal. Internal.
 */
export class LoopSession implements LoopStrategy, SignalSource {
  /**
   * Runs a one-shot session may make: one, and one more per trigger during the last; 0 for a
   * start, which has no limit.
   */
  runsAllowed: number;
  readonly core: LoopCore;
  /** The timeout of the run in flight, if the loop has one. */
  deadline: RunDeadline | undefined = undefined;
  /** The gate's token for the run about to start. */
  private token: number | undefined = undefined;
  /**
   * The runs' `ctx.signal` comes from here, created when a run first reads it: a session whose
   * runs never read it (or that never ran) costs no AbortController, and its stop none to abort.
   */
  private controller: AbortController | undefined = undefined;
  private reason: unknown = undefined;

  constructor(
    readonly loop: ManagedLoop,
    oneShot: boolean,
  ) {
    this.core = new LoopCore(this, loop.settings.sliding, loop.clock);
    this.runsAllowed = oneShot ? 1 : 0;
  }

  /** A triggered run of a stopped loop (and the runs triggered during it), not a start. */
  get oneShot(): boolean {
    return this.runsAllowed > 0;
  }

  /** Set by abort(), before the runs' signal aborts (its listeners see the session stopping). */
  stopping = false;

  /** The runs' signal, created when a run first reads it (aborted already if the session stopped). */
  get runSignal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.stopping) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /**
   * Stops the session: aborts the runs' signal (if a run ever read it) with `reason`, then ends
   * the session unless a run is in flight (it ends when that run settles). Once only.
   */
  abort(reason: unknown): void {
    if (this.stopping) return;
    this.stopping = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.deadline?.abort(reason);
    this.core.stop();
  }

  nextWait(): number {
    const { period, jitter } = this.loop.settings;
    return jitter > 0 ? applyJitter(period, jitter, this.loop.random) : period;
  }

  retryWait(): number | undefined {
    return this.loop.retryWait();
  }

  admit(): LoopEnd | undefined {
    if (this.oneShot && this.core.iteration >= this.runsAllowed) return RESOLVED;
    const gate = this.loop.gate;
    if (gate === undefined) return undefined;
    // Fail closed: checked before every run, not only when the gate reports a change, so that a
    // term that ran out between two reports never starts a run.
    this.token = gate.admit(this.loop.clock.now());
    return this.token === undefined ? RESOLVED : undefined;
  }

  run(_iteration: number, now: number): unknown {
    const { loop } = this;
    const timeout = loop.settings.timeout;
    const deadline = timeout === undefined ? undefined : this.deadlineOf(timeout, now);
    this.deadline = deadline;
    const iteration = loop.runStarting(now);
    const ctx = runContext(
      this,
      this.controller?.signal,
      iteration,
      loop.name,
      this.token,
      deadline,
    );
    return deadline === undefined ? loop.fn(ctx) : deadline.call(loop.fn, ctx);
  }

  /** A method of its own: its closure would make run() allocate a context on every run. */
  private deadlineOf(timeout: number, now: number): RunDeadline {
    const { loop } = this;
    return new RunDeadline(loop.clock, loop.name, timeout, now, () => loop.runTimedOut(timeout));
  }

  settled(failed: boolean, error: unknown, now: number | undefined): LoopEnd | undefined {
    if (!failed) {
      this.loop.runSucceeded(now);
      return undefined;
    }
    // A run that gave up because the stop aborted its signal was stopped, not failed; one that
    // passed its timeout first failed.
    const deadline = this.deadline;
    const signal = deadline === undefined ? this.controller?.signal : deadline.readSignal;
    const cut = this.stopping && signal?.aborted === true && !deadline?.expired;
    try {
      if (cut && (error === signal.reason || isInterrupted(error))) this.loop.runStopped();
      else this.loop.runFailed(error);
    } catch (fatal) {
      // Only a throwing observer gets here: it would end the next session the same way.
      return rejectWith(fatal);
    }
    return undefined;
  }

  ended(end: LoopEnd): void {
    this.loop.sessionEnded(this, end.error, end.failed);
  }
}
