import {
  checkLeaderElection,
  type CheckedLeaderElectionOptions,
  type LeaderElectionOptions,
} from '../leader/leader-election-options.js';
import { messages } from './cluster-messages.js';

/**
 * Where a loop runs when the app runs as several replicas:
 * - `'leader'`: on the replica that leads (one replica runs every such loop);
 * - `'spread'`: on one replica per loop, chosen among the live replicas that have the loop, so
 *   that the loops are spread over the cluster;
 * - on a store with the cluster calls, both keep a loop's cadence when it moves: the new
 *   replica's first run waits for the rest of the period since the last recorded run;
 * - `'every'`: on every replica.
 */
export type Placement = 'leader' | 'spread' | 'every';

export /**
 *
 */
const PLACEMENTS: readonly Placement[] = ['leader', 'spread', 'every'];

/**
 * `WaitModule`'s `cluster` option: leader election's options (the same lease, timings and
 * identity; `leaderElection` is this option's old name) and where loops run by default.
 * Every member also holds a member lease of its own in `store`, renewed every `retryPeriod`.
 */
export interface ClusterOptions extends LeaderElectionOptions {
  /** Where a loop runs when it does not say. Default `'leader'`. */
  placement?: Placement;
}

/** Checked cluster options. Internal. */
export interface CheckedClusterOptions {
  readonly election: CheckedLeaderElectionOptions;
  readonly placement: Placement;
}

/** Checks `placement`, naming `where` and the value. */
export function checkPlacement(value: unknown, where: string): Placement {
  if (!PLACEMENTS.includes(value as Placement)) {
    throw new TypeError(messages.placement(where, value));
  }
  return value as Placement;
}

/** Checks the `cluster` option (or `leaderElection`, which has no `placement`). */
export function checkCluster(
  options: ClusterOptions,
  where: string,
  key: 'cluster' | 'leaderElection',
): CheckedClusterOptions {
  if (key === 'leaderElection' || options === null || typeof options !== 'object') {
    return { election: checkLeaderElection(options, where), placement: 'leader' };
  }
  const { placement, ...election } = options;
  return {
    election: checkLeaderElection(election, where),
    placement: placement === undefined ? 'leader' : checkPlacement(placement, `${where} cluster`),
  };
}
