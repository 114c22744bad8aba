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

/** Whether a loop's gate rests on a claim in the cluster store (a spread or leader loop's). */
export function isClaimed(gate: unknown): boolean {
  return gate instanceof LoopOwnership || gate instanceof LeaderLoopGate;
}
