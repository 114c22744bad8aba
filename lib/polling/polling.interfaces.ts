import type { LoopContext } from '../wait/internal.js';
import type { Placement } from '../cluster/cluster-options.js';

/** A snapshot of one loop, from {@link PollingRegistry.get} and {@link PollingRegistry.list}. */
export interface LoopStatus {
  name: string;
  /** `'running'` from start until stop (a run may still be settling after stop: see `inFlight`). */
  /**
   * `'paused'`: stopped cluster-wide by `stop()` on some replica (a spread or leader loop): no
   * replica runs it until `start()` on any replica; see `pausedBy` and `pausedAt`.
   */
  state: 'running' | 'stopped' | 'standby' | 'paused';
  /** Where the loop runs in a cluster: `'every'` without the `cluster` option. */
  placement: Placement;
  /**
   * The replica that runs it, as far as this one knows: the leader for `'leader'` loops, the
   * owner for `'spread'` ones (this replica's identity while it owns the loop); `undefined` for
   * `'every'` loops and when not known.
   */
  owner: string | undefined;
  /** Milliseconds. */
  period: number;
  jitter: number;
  sliding: boolean;
  /**
   * Whether a backoff is set (the `backoff` option): after a failed run the next one waits the
   * backoff, growing with each failure, instead of the period. In effect while
   * `consecutiveFailures > 0`.
   */
  backoff: boolean;
  /** Runs so far, over every start. */
  iterations: number;
  failures: number;
  consecutiveFailures: number;
  inFlight: boolean;
  /** When the loop was last started (by the app or `start()`); absent while stopped. */
  runningSince?: Date;
  lastStartedAt?: Date;
  lastSucceededAt?: Date;
  /** When the last run settled (succeeded, failed, or stopped). */
  lastEndedAt?: Date;
  /** How the last settled run ended; absent before the first. */
  lastOutcome?: 'succeeded' | 'failed';
  /**
   * What the last failed run threw; kept after a success (see `consecutiveFailures`). Absent in
   * the cluster view of a loop another replica runs: see `lastErrorMessage`.
   */
  lastError?: unknown;
  /** `lastError` in one line (its name and message, at most 300 characters). */
  lastErrorMessage?: string;
  /** When the next run is planned; absent when stopped, running sliding, or about to be planned. */
  nextRunAt?: Date;
  /** While `'paused'`: the identity of the replica whose `stop()` paused it. */
  pausedBy?: string;
  /** While `'paused'`: when it was paused (by the store's clock, seen from this replica's). */
  pausedAt?: Date;
  /**
   * In the cluster view (`list({ cluster: true })`) of a loop another replica runs: when its
   * owner last reported it (the run fields come from that report, counted by the owner).
   */
  reportedAt?: Date;
}

/** Options of {@link PollingRegistry.list} and {@link PollingRegistry.get}. */
export interface StatusOptions {
  /**
   * `true`: the cluster's view of the spread and leader loops, read from the store in one call
   * (owner, state, last run and next run as their owner reported them); the promise rejects
   * within the renew deadline if the store does not answer. Default `false`: this replica's view.
   */
  cluster?: boolean;
}

/** A live replica of the cluster, from {@link PollingRegistry.members}. */
export interface MemberStatus {
  identity: string;
  /** Since when it has been a member with its current session. */
  since: Date;
  /** When it last renewed its member lease. */
  renewedAt: Date;
  /** The spread and leader loops placed on it, by this replica's view of the cluster. */
  loops: number;
  /** Whether it leads (runs the `'leader'` loops), as far as this replica knows. */
  leader: boolean;
  /** Whether it is this replica. */
  self: boolean;
}

/** What {@link PollingRegistry.events$} emits: a run started, succeeded or failed, or the loop stopped. */
export interface LoopEvent {
  type: 'started' | 'succeeded' | 'failed' | 'stopped';
  name: string;
  /** The run's `ctx.iteration` (for `'stopped'`, the last run's). */
  iteration: number;
  /** After this event: 0 once a run succeeded. */
  consecutiveFailures: number;
  at: Date;
  /** For `'failed'`: what the run threw. */
  error?: unknown;
}

/**
 * What each run of a loop of the WaitModule receives (`@Until` methods and
 * {@link PollingRegistry.add} functions): the engine's {@link LoopContext} with the loop's name
 * and, for leader-only loops, the term's fencing token. A method typed `(ctx: LoopContext)` is
 * accepted as well.
 */
export interface PollingContext extends LoopContext {
  /** The loop's name (default `'ClassName.methodName'` for `@Until`). */
  readonly name: string;
  /**
   * The fencing token of this run's ownership: for `'leader'` loops the leadership term's, for
   * `'spread'` loops the loop's own (every new owner of the loop gets a greater one). A
   * downstream store that keeps the greatest token it has seen can refuse writes from a replica
   * that has been replaced. `undefined` for `'every'` loops.
   */
  readonly fencingToken?: number | undefined;
}

/**
 * The body of a loop of the WaitModule: takes its context (or nothing) and may return a promise;
 * the next run waits until it settles. Extra parameters must be optional.
 */
export type PollingFn = (ctx: PollingContext) => unknown;
