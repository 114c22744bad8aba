import type { Clock } from './clock.js';
import { exponentialBackoffManager, type BackoffManager } from './backoff-manager.js';
import { isInterrupted } from './errors.js';
import { applyJitter } from './jitter.js';
import { LoopCore, type LoopContext, type LoopFn } from './loop.js';
import { RunDeadline } from './run-deadline.js';

/** How a managed loop runs, checked and in milliseconds. */
export interface ManagedLoopSettings {
  readonly period: number;
  /** `<= 0`: none. */
  readonly jitter: number;
  readonly sliding: boolean;
  /** Before the first run of each start. */
  readonly initialDelay: number;
  /** After a failed run, wait this backoff instead of the period; a success resets it. */
  readonly backoff: ManagedBackoff | undefined;
  /** A run in flight longer than this has its signal aborted and counts as failed. Default none. */
  readonly timeout?: number | undefined;
}

/** The backoff of a managed loop, as for `exponentialBackoffManager`. */
export interface ManagedBackoff {
  readonly initial: number;
  readonly max: number;
  readonly factor: number;
  readonly jitter: number;
  readonly resetAfter: number;
}

/** Told of each run and stop of a managed loop. Must not throw. */
export interface ManagedLoopObserver {
  runStarted(loop: ManagedLoop): void;
  /** `failuresBefore`: the consecutive failures this success ends (0 for a routine success). */
  runSucceeded(loop: ManagedLoop, failuresBefore: number): void;
  runFailed(loop: ManagedLoop, error: unknown): void;
  /** The loop was stopped and its last run has settled. */
  stopped(loop: ManagedLoop): void;
  /** A run passed its timeout (its signal is aborted); it counts as failed when it settles. */
  runTimedOut?(loop: ManagedLoop, timeout: number): void;
}

/**
 * Decides whether a managed loop may run (leader election): a loop with a gate runs only while
 * the gate admits it, and each run gets the gate's fencing token. The gate tells the loop when it
 * opens and closes through {@link ManagedLoop.gateChanged}.
 */
export interface LoopGate {
  /** The fencing token of the term in force at clock time `now`; `undefined`: no run may start. */
  admit(now: number): number | undefined;
}

/** Stands in for the loop core's stop signal: a session is stopped through LoopSession.abort(). */
const UNUSED_SIGNAL = new AbortController().signal;

/**
 * A managed run's context before its session's AbortController exists. `signal` is a getter that
 * makes the controller on first read: shutting down 100,000 loops whose bodies never read it then
 * aborts nothing (aborting costs about 2 µs a controller on Node 20, the better part of such a
 * shutdown). Runs see it through {@link OWN_SIGNAL}; once the controller exists, they get a plain
 * object ({@link LoopSession.context}).
 */
class RunContext {
  readonly #session: LoopSession;
  readonly #deadline: RunDeadline | undefined;

  constructor(
    session: LoopSession,
    readonly iteration: number,
    readonly name: string,
    readonly fencingToken: number | undefined,
    deadline: RunDeadline | undefined,
  ) {
    this.#session = session;
    this.#deadline = deadline;
  }

  get signal(): AbortSignal {
    return this.#deadline?.signal ?? this.#session.runSignal;
  }
}

/**
 * The body the loop core runs for every session. The core calls its `fn` as its own method, so
 * `this` is the session: one function for all sessions, no closure each.
 */
function runBody(this: LoopSession, ctx: LoopContext): unknown {
  const { fn } = this.loop;
  const deadline = this.deadline;
  return deadline === undefined ? fn(ctx) : deadline.call(fn, ctx);
}

/** How {@link OWN_SIGNAL} reports `signal`: an own enumerable getter, so reporting makes nothing. */
const SIGNAL_DESCRIPTOR: PropertyDescriptor = {
  get(this: LoopContext): AbortSignal {
    return this.signal;
  },
  set: undefined,
  enumerable: true,
  configurable: true,
};

/**
 * Shows a {@link RunContext} with `signal` as an own enumerable property, so that `{ ...ctx }`,
 * `Object.assign()` and `Object.keys()` see it (a spread copies own enumerable properties only).
 * A Proxy because V8 has no fast way to give each object an own getter: `Object.defineProperty`
 * costs about 100 ns a run, a getter in an object literal about 380, a Proxy about 15 (Node 20),
 * against some 200 ns for a whole registry run.
 */
const OWN_SIGNAL: ProxyHandler<RunContext> = {
  // Read on the target itself: its getter reads a private field, which the proxy lacks.
  get: (target, key): unknown => Reflect.get(target, key),
  ownKeys: (target) =>
    Object.hasOwn(target, 'signal')
      ? Reflect.ownKeys(target)
      : ['signal', ...Reflect.ownKeys(target)],
  getOwnPropertyDescriptor: (target, key) =>
    key === 'signal' && !Object.hasOwn(target, 'signal')
      ? SIGNAL_DESCRIPTOR
      : Reflect.getOwnPropertyDescriptor(target, key),
  // A proxy may not report a property its non-extensible target lacks: Object.freeze() and
  // Object.seal() turn `signal` into a plain property of the target first.
  preventExtensions: (target) => {
    Object.defineProperty(target, 'signal', {
      value: target.signal,
      enumerable: true,
      writable: false,
      configurable: true,
    });
    return Reflect.preventExtensions(target);
  },
};

/** One start of a managed loop (or one triggered run of a stopped one) on the loop core. */
class LoopSession extends LoopCore {
  /** Runs a one-shot session may make: one, and one more per trigger during the last. */
  runsAllowed: number;
  /** The gate's token for the run about to start. */
  private token: number | undefined = undefined;
  /** The timeout of the run in flight, if the loop has one. */
  deadline: RunDeadline | undefined = undefined;
  /** Set by abort(): a plain field, faster to read per run than a signal's `aborted`. */
  stopping = false;
  /**
   * The runs' `ctx.signal` comes from here, created when a run first reads it: a session whose
   * runs never read it (or that never ran) costs no AbortController, and its stop none to abort.
   */
  private controller: AbortController | undefined = undefined;
  private reason: unknown = undefined;

  constructor(
    readonly loop: ManagedLoop,
    readonly oneShot: boolean,
  ) {
    super(runBody, UNUSED_SIGNAL, loop.settings.sliding, loop.clock, (error) => {
      // A run that gave up because the stop aborted its signal was stopped, not failed; one that
      // passed its timeout first failed.
      const deadline = this.deadline;
      const signal = deadline === undefined ? this.controller?.signal : deadline.readSignal;
      const cut = this.stopping && signal?.aborted === true && !deadline?.expired;
      if (cut && (error === signal.reason || isInterrupted(error))) loop.runStopped();
      else loop.runFailed(error);
    });
    this.runsAllowed = oneShot ? 1 : Infinity;
  }

  /**
   * A run's context: a plain object once the runs' signal exists, else a {@link RunContext}
   * whose `signal` makes it on first read (a run with a timeout has a signal of its own, made the
   * same way). Both have the same own enumerable fields.
   */
  context(
    iteration: number,
    name: string,
    fencingToken: number | undefined,
    deadline: RunDeadline | undefined,
  ): LoopContext {
    const controller = this.controller;
    if (controller !== undefined && deadline === undefined)
      return { signal: controller.signal, iteration, name, fencingToken };
    return new Proxy(new RunContext(this, iteration, name, fencingToken, deadline), OWN_SIGNAL);
  }

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
    this.onAbort();
  }

  protected nextWait(): number {
    const { period, jitter } = this.loop.settings;
    return jitter > 0 ? applyJitter(period, jitter, this.loop.random) : period;
  }

  protected override beginRun(_iteration: number, now: number): LoopContext {
    const { loop } = this;
    const timeout = loop.settings.timeout;
    this.deadline =
      timeout === undefined
        ? undefined
        : new RunDeadline(loop.clock, loop.name, timeout, now, () => loop.runTimedOut(timeout));
    return loop.runStarting(this, now, this.token, this.deadline);
  }

  protected override concluded(): boolean {
    this.loop.runSucceeded();
    return false;
  }

  protected override retryWait(): number | undefined {
    return this.loop.retryWait();
  }

  protected override ended(error: unknown, failed: boolean): void {
    this.loop.sessionEnded(this, error, failed);
  }

  protected override blockedByStop(): boolean {
    if (this.stopping || this.iteration >= this.runsAllowed) return true;
    const gate = this.loop.gate;
    if (gate === undefined) return false;
    // Fail closed: checked before every run, not only when the gate reports a change, so that a
    // term that ran out between two reports never starts a run.
    this.token = gate.admit(this.loop.clock.now());
    return this.token === undefined;
  }

  // The session is stopped by abort(), which calls onAbort() itself: no abort listener per
  // session (a third of the time to start and to stop 100,000 loops went to adding it and
  // dispatching to it).
  protected override watchStop(): void {}

  protected override unwatchStop(): void {}
}

/**
 * A named loop that can be started, stopped, triggered and re-timed while it lives, with the
 * counters a status page needs. Errors of `fn` never end it: they are counted and handed to the
 * observer, and with a backoff the next run waits the backoff instead of the period. Every run
 * goes through {@link LoopCore}; this class only keeps books and decides when a start begins.
 * Internal: the registry of the Nest layer is built on it.
 */
export class ManagedLoop {
  /** Runs so far, over every start; a run's `ctx.iteration`. */
  iterations = 0;
  failures = 0;
  consecutiveFailures = 0;
  /** Clock times; `undefined` until it happened. */
  lastStartedAt: number | undefined = undefined;
  /** Clock time the loop last began running (a start, or its gate reopening); `undefined` while stopped. */
  runningSince: number | undefined = undefined;
  lastSucceededAt: number | undefined = undefined;
  lastError: unknown = undefined;
  /** Whether the loop should be running: set by start(), cleared by stop(). */
  private shouldRun = false;
  private session: LoopSession | undefined = undefined;
  private backoff: BackoffManager | undefined = undefined;
  /** trigger() calls waiting for the next run to start, then for it to settle. */
  private nextWaiters: (() => void)[] | undefined = undefined;
  private currentWaiters: (() => void)[] | undefined = undefined;
  /** stop() calls waiting for the session to end. */
  private endWaiters: (() => void)[] | undefined = undefined;
  /** trigger() calls made while a stop settles: served by the next session's first run. */
  private triggersAfterStop: (() => void)[] | undefined = undefined;

  constructor(
    readonly name: string,
    readonly fn: LoopFn,
    public settings: ManagedLoopSettings,
    readonly clock: Clock,
    readonly random: () => number,
    private readonly observer: ManagedLoopObserver,
    /** Leader election: the loop runs only while the gate admits it. Default none. */
    readonly gate?: LoopGate,
  ) {}

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
    return this.session?.running ?? false;
  }

  /** When the next run is planned, in clock time; `undefined` when stopped or not known. */
  get nextRunAt(): number | undefined {
    const session = this.session;
    // A stopping session's plan will not be followed: a restart plans anew once it settled.
    if (!this.shouldRun || session === undefined || session.oneShot || session.stopping) {
      return undefined;
    }
    return session.nextRunAt;
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
    if (this.triggersAfterStop !== undefined)
      (this.endWaiters ??= []).push(...this.triggersAfterStop);
    this.triggersAfterStop = undefined;
    const session = this.session;
    session.abort(reason); // a session waiting for its next run ends here
    // Ended already (an idle loop): no promise to settle later, the shutdown of many loops is
    // mostly these.
    if (this.session !== session) return Promise.resolve();
    return new Promise<void>((resolve) => (this.endWaiters ??= []).push(resolve));
  }

  /**
   * Runs an iteration now, after the one in flight; calls made before that run starts share it.
   * On a stopped loop, runs one iteration on its own. Resolves when that run has settled (errors
   * are counted and reported, not thrown here), or without a run if the loop stops first.
   */
  trigger(): Promise<void> {
    const session = this.session;
    if (session === undefined) {
      this.open(true);
      // Its gate closed (a follower's leader-only loop): the session ended without a run.
      if (this.session === undefined) return Promise.resolve();
    } else if (session.stopping) {
      // Stopping: served by the first run after the stop settled (a one-shot, or the restarted
      // loop's first run), unless stop() is called again meanwhile.
      return new Promise<void>((resolve) => (this.triggersAfterStop ??= []).push(resolve));
    } else {
      // A one-shot session whose run is in flight may make one more.
      if (session.iteration >= session.runsAllowed) session.runsAllowed = session.iteration + 1;
      session.runNow();
    }
    return new Promise((resolve) => (this.nextWaiters ??= []).push(resolve));
  }

  /** Applies new settings: a switch of sliding from the next wait, a new period to the wait in progress. */
  update(settings: ManagedLoopSettings): void {
    const session = this.session;
    // A backoff wait in progress stays: the period applies again after the next success.
    const backingOff = this.backoff !== undefined && session?.running === false;
    // A new backoff starts over from its initial wait at the next failure.
    if (settings.backoff !== this.settings.backoff) this.backoff = undefined;
    this.settings = settings;
    if (session === undefined || session.oneShot) return;
    session.setSliding(settings.sliding);
    if (!backingOff) session.replan();
  }

  /** LoopSession: a run starts. */
  runStarting(
    session: LoopSession,
    now: number,
    fencingToken: number | undefined,
    deadline: RunDeadline | undefined,
  ): LoopContext {
    const iteration = ++this.iterations;
    this.lastStartedAt = now;
    if (this.nextWaiters !== undefined) {
      this.currentWaiters = this.nextWaiters;
      this.nextWaiters = undefined;
    }
    this.observer.runStarted(this);
    return session.context(iteration, this.name, fencingToken, deadline);
  }

  /** LoopSession: the run succeeded. */
  runSucceeded(): void {
    const failuresBefore = this.consecutiveFailures;
    this.consecutiveFailures = 0;
    this.backoff = undefined;
    this.lastSucceededAt = this.clock.now();
    this.observer.runSucceeded(this, failuresBefore);
    this.release();
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

  private open(oneShot: boolean): void {
    if (!oneShot) this.runningSince = this.clock.now();
    const session = new LoopSession(this, oneShot);
    this.session = session;
    // The session reports its end through sessionEnded(), synchronously: no promise needed.
    session.launch(oneShot ? 0 : this.settings.initialDelay);
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
    const waiters = [...(this.endWaiters ?? []), ...(this.nextWaiters ?? [])];
    this.endWaiters = this.nextWaiters = undefined;
    const triggersAfterStop = this.triggersAfterStop;
    this.triggersAfterStop = undefined;
    if (!session.oneShot) this.observer.stopped(this);
    // A loop its gate closed stands by: gateChanged() restarts it.
    if (this.shouldRun && this.admitted()) this.open(false);
    else if (triggersAfterStop !== undefined) this.open(true);
    if (triggersAfterStop !== undefined) {
      this.session!.runNow();
      (this.nextWaiters ??= []).push(...triggersAfterStop);
    }
    for (const resolve of waiters) resolve();
  }

  private admitted(): boolean {
    return this.gate === undefined || this.gate.admit(this.clock.now()) !== undefined;
  }

  private release(): void {
    const waiters = this.currentWaiters;
    if (waiters === undefined) return;
    this.currentWaiters = undefined;
    for (const resolve of waiters) resolve();
  }
}
