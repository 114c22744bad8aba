import { exponentialBackoffManager, type BackoffManager, type Clock } from '../../wait/internal.js';
import type { PollingFn } from '../polling.interfaces.js';
import type { LoopGate, LoopHost, LoopSettings, ManagedLoopObserver } from './loop-settings.js';
import { LoopSession } from './loop-session.js';
import { LoopWaiters } from './loop-waiters.js';

const NO_WAITERS = { done: [], pending: false } as const;

/**
 * A named loop that can be started, stopped, triggered and re-timed while it lives, with the
 * counters a status page needs. Errors of `fn` never end it: they are counted and handed to the
 * observer, and with a backoff the next run waits the backoff instead of the period. Each start
 * is a {@link LoopSession} on the engine's loop core; this class only keeps books and decides
 * when a start begins. Internal: the registry of the Nest layer is built on it.
 */
export class ManagedLoop {
  /** Runs so far, over every start; a run's `ctx.iteration`. */
  iterations = 0;
  failures = 0;
  consecutiveFailures = 0;
  /** Clock time; `undefined` until it happened. Exact: the telemetry times runs from it. */
  lastStartedAt: number | undefined = undefined;
  /**
   * The time the loop last began running (a start, or its gate reopening), `undefined` while
   * stopped. In whole milliseconds, as a status shows them: V8 keeps a small integer in the
   * object itself, a fraction in a box of its own per field.
   */
  runningSince: number | undefined = undefined;
  /**
   * As {@link ManagedLoop.runningSince}: the last success, in whole milliseconds; for a run that
   * returned synchronously, the time its batch began.
   */
  lastSucceededAt: number | undefined = undefined;
  /** As {@link ManagedLoop.runningSince}: when the last run settled (succeeded, failed, stopped). */
  lastEndedAt: number | undefined = undefined;
  lastError: unknown = undefined;
  /** Whether the loop should be running: set by start(), cleared by stop(). */
  private shouldRun = false;
  private session: LoopSession | undefined = undefined;
  private backoff: BackoffManager | undefined = undefined;
  private waiters: LoopWaiters | undefined = undefined;

  constructor(
    readonly name: string,
    readonly fn: PollingFn,
    public settings: LoopSettings,
    /** What the loops of one registry share. */
    readonly host: LoopHost,
    /** Leader election: the loop runs only while the gate admits it. Default none. */
    readonly gate?: LoopGate,
  ) {}

  get clock(): Clock {
    return this.host.clock;
  }

  get random(): () => number {
    return this.host.random;
  }

  private get observer(): ManagedLoopObserver {
    return this.host.observer;
  }

  /**
   * 'running' once started and until stopped (a run may still be settling after stop());
   * 'standby' when started but its gate keeps it from running.
   */
  get state(): 'running' | 'stopped' | 'standby' {
    if (!this.shouldRun) return 'stopped';
    return this.admitted() ? 'running' : 'standby';
  }

  /** Whether a run is in flight. */
  get inFlight(): boolean {
    return this.session?.core.running ?? false;
  }

  /** When the next run is planned, in clock time; `undefined` when stopped or not known. */
  get nextRunAt(): number | undefined {
    const session = this.session;
    // A stopping session's plan will not be followed: a restart plans anew once it settled.
    if (!this.shouldRun || session === undefined || session.oneShot || session.stopping) {
      return undefined;
    }
    return session.core.nextRunAt;
  }

  /**
   * Starts the loop (its first run after `initialDelay`). Idempotent. A run still settling from
   * before (a stop, a triggered run) finishes first, so two runs never overlap.
   */
  start(): void {
    if (this.shouldRun) return;
    this.shouldRun = true;
    // Otherwise a stopping loop or a triggered run is settling: the loop starts when it ends.
    if (this.session === undefined && this.admitted()) this.open(false);
  }

  /**
   * The gate opened or closed. Closed: the session is aborted as by stop(), but the loop stays
   * started (standby) and runs again once the gate reopens. Opened: a started loop resumes.
   */
  gateChanged(): void {
    if (this.admitted()) {
      if (this.shouldRun && this.session === undefined) this.open(false);
    } else {
      this.session?.abort(undefined);
    }
  }

  /**
   * Stops the loop: aborts `ctx.signal` (with `reason`, default an `AbortError`); resolves once the
   * run in flight has settled. Idempotent.
   */
  stop(reason?: unknown): Promise<void> {
    this.shouldRun = false;
    this.runningSince = undefined;
    if (this.session === undefined) return Promise.resolve();
    // Triggers made during an earlier stop resolve without a run.
    this.waiters?.stopAgain();
    const session = this.session;
    session.abort(reason); // a session waiting for its next run ends here
    // Ended already (an idle loop): no promise to settle later, the shutdown of many loops is
    // mostly these.
    if (this.session !== session) return Promise.resolve();
    return (this.waiters ??= new LoopWaiters()).forTheEnd();
  }

  /**
   * Runs an iteration now, after the one in flight; calls made before that run starts share it.
   * On a stopped loop, runs one iteration on its own. Resolves when that run has settled (errors
   * are counted and reported, not thrown here), or without a run if the loop stops first.
   */
  trigger(): Promise<void> {
    const session = this.session;
    if (session === undefined) {
      // Its gate is closed (a follower's leader-only loop): no run.
      if (!this.admitted()) return Promise.resolve();
      this.open(true);
    } else if (session.stopping) {
      // Stopping: served by the first run after the stop settled (a one-shot, or the restarted
      // loop's first run), unless stop() is called again meanwhile.
      return (this.waiters ??= new LoopWaiters()).afterTheStop();
    } else {
      // A one-shot session whose run is in flight may make one more.
      const { iteration } = session.core;
      if (session.oneShot && iteration >= session.runsAllowed) session.runsAllowed = iteration + 1;
      session.core.runNow();
    }
    return (this.waiters ??= new LoopWaiters()).forNextRun();
  }

  /** Applies new settings: a switch of sliding from the next wait, a new period to the wait in progress. */
  update(settings: LoopSettings): void {
    const session = this.session;
    // A backoff wait in progress stays: the period applies again after the next success.
    const backingOff = this.backoff !== undefined && session?.core.running === false;
    // A new backoff starts over from its initial wait at the next failure.
    if (settings.backoff !== this.settings.backoff) this.backoff = undefined;
    this.settings = settings;
    if (session === undefined || session.oneShot) return;
    session.core.setSliding(settings.sliding);
    if (!backingOff) session.core.replan();
  }

  /** LoopSession: a run starts at `now`; returns its `ctx.iteration`. */
  runStarting(now: number): number {
    const iteration = ++this.iterations;
    this.lastStartedAt = now;
    this.gate?.runStarted?.(now);
    this.waiters?.runStarted();
    this.observer.runStarted(this);
    return iteration;
  }

  /**
   * LoopSession: the run succeeded; `now` is its batch's time when it returned synchronously, and
   * counts as the time it succeeded (a clock read would cost more than such a run).
   */
  runSucceeded(now: number | undefined): void {
    const failuresBefore = this.consecutiveFailures;
    this.consecutiveFailures = 0;
    this.backoff = undefined;
    const at = now ?? this.clock.now();
    this.lastSucceededAt = Math.floor(at);
    this.observer.runSucceeded(this, failuresBefore);
    this.release(at);
  }

  /** LoopSession: the run failed. */
  runFailed(error: unknown): void {
    this.failures++;
    this.consecutiveFailures++;
    this.lastError = error;
    try {
      this.observer.runFailed(this, error);
    } finally {
      this.release();
    }
  }

  /** LoopSession: the run in flight passed its timeout. */
  runTimedOut(timeout: number): void {
    this.observer.runTimedOut?.(this, timeout);
  }

  /** LoopSession: the run threw because the stop aborted its signal; neither success nor failure. */
  runStopped(): void {
    this.release();
  }

  /** LoopSession: the backoff's next wait after a failure, when there is a backoff. */
  retryWait(): number | undefined {
    const b = this.settings.backoff;
    if (b === undefined) return undefined;
    this.backoff ??= exponentialBackoffManager({ ...b, clock: this.clock, random: this.random });
    return this.backoff.backoff();
  }

  /**
   * Resolves once no run is in flight and the session has ended (at once when there is none):
   * a spread loop's owner waits for it after its gate closed, before it lets the loop go.
   */
  idle(): Promise<void> {
    if (this.session === undefined) return Promise.resolve();
    return (this.waiters ??= new LoopWaiters()).forTheEnd();
  }

  private open(oneShot: boolean): void {
    let delay = 0;
    if (!oneShot) {
      const now = this.clock.now();
      this.runningSince = Math.floor(now);
      delay = this.gate?.firstDelay?.(now) ?? this.settings.initialDelay;
    }
    const session = new LoopSession(this, oneShot);
    this.session = session;
    // The session reports its end through sessionEnded(), synchronously: no promise needed.
    session.core.start(delay);
  }

  /** LoopSession: the session has ended (stopped; or failed, which only a throwing observer causes). */
  sessionEnded(session: LoopSession, error: unknown, failed: boolean): void {
    if (session !== this.session) return;
    if (failed) {
      // Keep the error and do not restart: the same observer would end the next session too.
      this.lastError = error;
      this.shouldRun = false;
      this.runningSince = undefined;
    }
    this.session = undefined;
    // Triggers that were not served before the stop resolve without a run.
    const { done, pending } = this.waiters?.sessionEnded() ?? NO_WAITERS;
    if (!session.oneShot) this.observer.stopped(this);
    // A loop its gate closed stands by: gateChanged() restarts it.
    if (this.shouldRun && this.admitted()) this.open(false);
    else if (pending) this.open(true);
    if (pending) this.session!.core.runNow();
    for (const resolve of done) resolve();
  }

  private admitted(): boolean {
    return this.gate === undefined || this.gate.admit(this.clock.now()) !== undefined;
  }

  /**
   * The run settled; `endedAt`: when it succeeded, if known. The clock is read only for a gate
   * (its records want the time now, as before) or when the end is not known: a sync run of an
   * ungated loop reads no clock, as it did before `lastEndedAt` was kept.
   */
  private release(endedAt?: number): void {
    const gate = this.gate;
    const now = gate?.runEnded !== undefined || endedAt === undefined ? this.clock.now() : endedAt;
    this.lastEndedAt = Math.floor(endedAt ?? now);
    gate?.runEnded?.(now);
    this.waiters?.runSettled();
  }
}
