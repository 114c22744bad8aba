/**
 * The injection token under which leader election provides {@link Leadership}. Optional
 * everywhere: the health indicator and the metrics report a role and a leader when a provider
 * with this token is visible to `WaitModule` (a global module exporting it), and nothing otherwise.
 *
 * @example
 * ```ts
 * { provide: LEADERSHIP, useExisting: LeaderElector }
 * ```
 */
export const LEADERSHIP = 'nestjs-wait:leadership';

/**
 * What the health indicator and the metrics read of leader election: this replica's identity,
 * whether it leads now, and the current leader's identity (`undefined` when none is known).
 * Read on every health check and metrics collection, so each call must be cheap and not throw.
 */
export interface Leadership {
  /** This replica's identity in the election (e.g. the pod name). */
  readonly identity: string;
  /** Whether this replica holds the lease now. */
  isLeader(): boolean;
  /** The identity of the replica holding the lease, if known. */
  leader(): string | undefined;
}
