import { LoopOwnership } from './loop-ownership.js';

/** What a leader loop's gate needs of the elector. Internal. */
export interface LeaderGate {
  /** The term's fencing token while this replica leads at `now`. */
  admit(now: number): number | undefined;
}

/**
 * The gate of a `'leader'` loop on a cluster store: it runs only while this replica leads and
 * owns the loop in the store, which the leader claims for it. The claim is what keeps the
 * cadence across a failover (the claim answers the last run the previous leader recorded) and
 * what lets the store refuse an old leader's run records. The run's fencing token stays the
 * term's. Internal.
 */
export class LeaderLoopGate {
  constructor(
    readonly elector: LeaderGate,
    readonly ownership: LoopOwnership,
  ) {}

  admit(now: number): number | undefined {
    return this.ownership.admit(now) === undefined ? undefined : this.elector.admit(now);
  }

  firstDelay(now: number): number | undefined {
    return this.ownership.firstDelay(now);
  }

  runStarted(now: number): void {
    this.ownership.runStarted(now);
  }

  runEnded(now: number): void {
    this.ownership.runEnded(now);
  }
}

/**
 * The claim in the cluster store a loop's gate rests on (a spread loop's, or a leader loop's on
 * a cluster store); `undefined` for any other gate.
 */
export function ownershipOf(gate: unknown): LoopOwnership | undefined {
  if (gate instanceof LoopOwnership) return gate;
  if (gate instanceof LeaderLoopGate) return gate.ownership;
  return undefined;
}
