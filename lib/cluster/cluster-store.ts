import type { LeaseCallOptions, LeaseStore, LeaseWatch } from '../leader/lease-store.js';

/*
 * The cluster's part of a store: member leases (one per replica, ZooKeeper's session), and the
 * loops' ownership claims tied to them. Times cross the wire as durations ("ago"), never as
 * clock readings, so the replicas' clocks never have to agree with the store's.
 */

/** A live member of a cluster, as the store saw it when it answered. */
export interface ClusterMember {
  readonly identity: string;
  /** The member's session: it changes whenever the member (re)joins after its lease ended. */
  readonly session: number;
  /** The digest of the member's loop names (see {@link ClusterStore.memberLoops}). */
  readonly digest: string;
  /** How long the member has been in the cluster with this session, in ms by the store's clock. */
  readonly age: number;
  /** How long ago the member last renewed its lease, in ms by the store's clock. */
  readonly renewedAgo: number;
}

/** A run of a loop, reported by its owner so that the next owner keeps its cadence. */
export interface RunRecord {
  readonly loop: string;
  /** The loop's fencing token when it ran: a record from an earlier owner is refused. */
  readonly token: number;
  /** How long before the call was sent the run started, in ms (the caller's clock). */
  readonly startedAgo: number;
  /** How long before the call was sent the run ended; `undefined` for a run still in flight. */
  readonly endedAgo?: number | undefined;
  /**
   * What the owner says of the run and the loop, as JSON text the store keeps as it is, with
   * the time it wrote it (see {@link LoopRun}): what every replica shows of a loop it does not
   * run. Absent: none (an earlier report is dropped).
   */
  readonly report?: string | undefined;
}

/** A loop's last recorded run, as durations before the store answered. */
export interface LastRun {
  readonly startedAgo: number;
  /** `undefined` when its end was never recorded (the owner died during the run). */
  readonly endedAgo: number | undefined;
}

/** What a member sends every retry period. */
export interface Heartbeat {
  readonly identity: string;
  /** The session the member holds, or `undefined` to join. */
  readonly session: number | undefined;
  /** The member lease's time to live from when the store writes it, in ms. */
  readonly ttl: number;
  /** The digest of the member's loop names. */
  readonly digest: string;
  /** The member's loop names: sent with a new digest, and on a (re)join. */
  readonly loops?: readonly string[] | undefined;
  /** Runs since the last confirmed heartbeat, written only where the token still owns the loop. */
  readonly runs: readonly RunRecord[];
}

/** What {@link ClusterStore.heartbeat} answers. */
export interface HeartbeatResult {
  /**
   * The member's session: the one it sent while that lease was alive; a new one, greater than
   * every earlier session of the cluster, when it joined or its lease had ended (its claims are
   * then free for others: the member has lost every loop it owned).
   */
  readonly session: number;
  /** Every member whose lease is alive by the store's clock, this one included. */
  readonly members: readonly ClusterMember[];
  /** The digest stored for this member before this call (`undefined`: none); for a resend. */
  readonly storedDigest: string | undefined;
  /** The version of the cluster's loop controls (see {@link ClusterStore.controls}); 0: none. */
  readonly controlVersion: number;
}

/**
 * A loop's cluster-wide control: what `stop()`, `start()` and `update()` on any replica keep in
 * the store, so that every replica (and every later owner) follows it.
 */
export interface LoopControl {
  readonly loop: string;
  /** `'paused'` by a stop, `'started'` by a start; `undefined`: as the replicas start it. */
  readonly state: 'paused' | 'started' | undefined;
  /** The identity whose call set `state`. */
  readonly by: string | undefined;
  /** How long before the store answered `state` was set, in ms by the store's clock. */
  readonly ago: number | undefined;
  /** Every update's changes so far, merged (a later field wins), as the JSON text of an object. */
  readonly overrides: string | undefined;
  /** The id of the last trigger asked for (see {@link ControlChange.trigger}). */
  readonly trigger: string | undefined;
  /** How long before the store answered that trigger was asked for, in ms by its clock. */
  readonly triggerAgo: number | undefined;
}

/** One change of a loop's control (see {@link ClusterStore.controlLoop}). */
export interface ControlChange {
  /** The new state; absent: unchanged. */
  readonly state?: 'paused' | 'started' | undefined;
  /** Who asks: kept with a new state. */
  readonly by: string;
  /** The JSON text of an object whose fields replace those of the stored overrides; absent: none. */
  readonly overrides?: string | undefined;
  /**
   * A run asked of the loop's owner, by an id unique to the request: it replaces the trigger
   * kept before, with the store's time now. Absent: unchanged.
   */
  readonly trigger?: string | undefined;
}

/** What {@link ClusterStore.controls} answers. */
export interface Controls {
  /** The version the controls are at: as a heartbeat answers it. */
  readonly version: number;
  /** The control of every loop that has one. */
  readonly loops: readonly LoopControl[];
}

/** What {@link ClusterStore.loopRuns} answers of one loop: its claim and its last record. */
export interface LoopRun {
  readonly loop: string;
  /** The member whose live session holds the loop's claim; `undefined`: none does. */
  readonly owner: string | undefined;
  /** The token of that claim; `undefined` with no live owner. */
  readonly token: number | undefined;
  /** The last recorded run, as durations before the store answered; `undefined`: none. */
  readonly lastRun: LastRun | undefined;
  /** The report written with that record (its JSON text as sent); `undefined`: none. */
  readonly report: string | undefined;
  /** How long before the store answered the last record was written, in ms by its clock. */
  readonly reportedAgo: number | undefined;
}

/** The outcome of claiming one loop. */
export type ClaimResult =
  | {
      readonly loop: string;
      readonly claimed: true;
      /** The loop's fencing token for this ownership: greater than every earlier owner's. */
      readonly token: number;
      readonly lastRun: LastRun | undefined;
    }
  | {
      readonly loop: string;
      readonly claimed: false;
      /** The live owner that holds it; `undefined` when the caller's own session is not alive. */
      readonly owner: string | undefined;
    };

/** One loop to release, with the token of its ownership. */
export interface OwnedLoop {
  readonly loop: string;
  readonly token: number;
}

/**
 * The cluster contract a store implements besides {@link LeaseStore}: `InMemoryLeaseStore`,
 * `RedisLeaseStore` and `PostgresLeaseStore` do. Every call is atomic on the store's side, keeps
 * time on the store's clock, and takes effect before its `timeout` or not at all.
 */
export interface ClusterStore extends LeaseStore {
  /**
   * Renews the member lease of `beat.identity` for `beat.ttl` ms if `beat.session` is alive;
   * otherwise starts a new session. Stores the loop names when sent, writes the run records
   * (each only while its token owns its loop), and answers every live member. A new session or
   * a new digest is announced to the cluster's watchers.
   */
  heartbeat(cluster: string, beat: Heartbeat, options?: LeaseCallOptions): Promise<HeartbeatResult>;
  /** The loop names a member stored with `digest`; `undefined` if it is gone or has another. */
  memberLoops(
    cluster: string,
    identity: string,
    digest: string,
    options?: LeaseCallOptions,
  ): Promise<readonly string[] | undefined>;
  /**
   * Claims each loop for the member's `session`, if that session is alive and the loop is free:
   * never claimed, released, owned by a session that is not alive, or owned by this session
   * already (then the token stays). A new ownership gets a new token, greater than every earlier
   * one of the loop, even after the store lost its data.
   */
  claimLoops(
    cluster: string,
    identity: string,
    session: number,
    loops: readonly string[],
    options?: LeaseCallOptions,
  ): Promise<readonly ClaimResult[]>;
  /**
   * Writes `runs`, then releases each loop still owned by `identity` with that token, and
   * announces it. Answers the loops it released.
   */
  releaseLoops(
    cluster: string,
    identity: string,
    loops: readonly OwnedLoop[],
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ): Promise<readonly string[]>;
  /**
   * Ends the member's session (its remaining claims are free at once) after writing `runs`, and
   * announces it. False if the session was not alive.
   */
  leave(
    cluster: string,
    identity: string,
    session: number,
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ): Promise<boolean>;
  /**
   * Applies `change` to the control of `loop` (whether or not any member has that loop), gives
   * the cluster's controls a new version, greater than every earlier one even after the store
   * lost its data, and announces it. Answers that version.
   */
  controlLoop(
    cluster: string,
    loop: string,
    change: ControlChange,
    options?: LeaseCallOptions,
  ): Promise<number>;
  /** The control of every loop, and their version (0 when none was ever set). */
  controls(cluster: string, options?: LeaseCallOptions): Promise<Controls>;
  /**
   * The claim and last record of each of `loops` (default: every loop that has a claim or a
   * record; a loop with neither is left out), in one call whatever their number: what a replica
   * shows of the loops it does not run.
   */
  loopRuns(
    cluster: string,
    loops?: readonly string[],
    options?: LeaseCallOptions,
  ): Promise<readonly LoopRun[]>;
  /**
   * Optional: calls `onChange` on every announcement of the cluster (release, join, leave, a
   * control's change).
   */
  watchCluster?(cluster: string, onChange: () => void): Promise<LeaseWatch>;
}

/** Whether `store` implements the cluster contract. */
export function isClusterStore(store: LeaseStore): store is ClusterStore {
  const s = store as Partial<ClusterStore>;
  return (
    typeof s.heartbeat === 'function' &&
    typeof s.memberLoops === 'function' &&
    typeof s.claimLoops === 'function' &&
    typeof s.releaseLoops === 'function' &&
    typeof s.leave === 'function' &&
    typeof s.controlLoop === 'function' &&
    typeof s.controls === 'function' &&
    typeof s.loopRuns === 'function'
  );
}
