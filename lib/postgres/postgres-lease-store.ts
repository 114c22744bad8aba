import type {
  ClaimResult,
  ClusterStore,
  ControlChange,
  Controls,
  LoopRun,
  Heartbeat,
  HeartbeatResult,
  OwnedLoop,
  RunRecord,
} from '../cluster/cluster-store.js';
import type { AcquireResult, Lease, LeaseCallOptions, LeaseWatch } from '../leader/lease-store.js';
import { PostgresCalls, PostgresTables } from './postgres-calls.js';
import { PostgresCluster } from './postgres-cluster.js';
import { checkPostgresOptions, type PostgresLeaseStoreOptions } from './postgres-options.js';
import { PostgresPool } from './postgres-pool.js';
import { PostgresReleaseListener } from './postgres-release-listener.js';
import { leaseStatements, type LeaseStatements } from './postgres-statements.js';

/**
 * Leases in PostgreSQL, for replicas of one app (`nestjs-wait/postgres`, needs `pg`). Every
 * operation is one conditional statement, so any connection of a pool will do (no session
 * state, no advisory locks, which break on pooled connections). Each is an upsert, which makes
 * PostgreSQL take the row's lock before it checks the term and computes the new expiry: a
 * statement that waited on a locked row (a long transaction, a migration) writes an expiry
 * counted from when it took the row, and writes nothing once its caller's deadline has passed.
 * Expiry is kept by the server's `clock_timestamp()`. Fencing tokens come from a sequence and
 * never fall below the row's last token or the server's clock in microseconds, so they grow
 * even if the row, the table or the sequence is lost.
 *
 * A release is announced with `NOTIFY`, so followers take over at once.
 *
 * It implements the cluster contract too ({@link ClusterStore}): member leases, loop claims and
 * loop controls in four tables beside the lease table, `<table>_members`, `<table>_loops`,
 * `<table>_controls` and `<table>_clusters`, made on the first cluster call; announced on the
 * same channel and LISTEN connection.
 */
export class PostgresLeaseStore implements ClusterStore {
  private readonly sql: LeaseStatements;
  private readonly channel: string;
  private readonly pool: PostgresPool;
  private readonly releases: PostgresReleaseListener;
  private readonly calls: PostgresCalls;
  private readonly leases: PostgresTables;
  private readonly cluster: PostgresCluster;

  /** @param options - see {@link PostgresLeaseStoreOptions} for defaults. */
  constructor(options: PostgresLeaseStoreOptions = {}) {
    const names = checkPostgresOptions(options);
    this.sql = leaseStatements(names.table, names.sequence);
    this.channel = names.channel;
    this.pool = new PostgresPool(options);
    this.releases = new PostgresReleaseListener(names.channel, this.pool);
    this.calls = new PostgresCalls(this.pool);
    this.leases = new PostgresTables(this.sql.create);
    this.cluster = new PostgresCluster(this.calls, names, this.releases);
  }

  async acquire(
    name: string,
    identity: string,
    ttl: number,
    options?: LeaseCallOptions,
  ): Promise<AcquireResult> {
    const row = await this.calls.statement<{ token: string | null; holder: string | null }>(
      this.leases,
      'acquire',
      options,
      this.sql.acquire,
      [name, identity, ttl],
      (r) => r.token === null,
    );
    if (row.token !== null) {
      return { acquired: true, lease: { holder: identity, token: Number(row.token) } };
    }
    if (row.holder === null) {
      // The row was created by a statement that committed after this one began: its snapshot
      // does not show it, a new statement's does.
      const { rows } = await this.calls.query<{ holder: string }>(this.leases, this.sql.holder, [
        name,
      ]);
      return { acquired: false, holder: rows[0]?.holder };
    }
    return { acquired: false, holder: row.holder };
  }

  async renew(
    name: string,
    lease: Lease,
    ttl: number,
    options?: LeaseCallOptions,
  ): Promise<boolean> {
    const row = await this.calls.statement<{ done: boolean }>(
      this.leases,
      'renew',
      options,
      this.sql.renew,
      [name, lease.holder, lease.token, ttl],
      (r) => !r.done,
    );
    return row.done;
  }

  async release(name: string, lease: Lease, options?: LeaseCallOptions): Promise<boolean> {
    const row = await this.calls.statement<{ done: boolean }>(
      this.leases,
      'release',
      options,
      this.sql.release,
      [name, lease.holder, lease.token, this.channel],
      (r) => !r.done,
    );
    return row.done;
  }

  watch(name: string, onReleased: () => void): Promise<LeaseWatch> {
    return this.releases.watch(name, onReleased);
  }

  heartbeat(
    cluster: string,
    beat: Heartbeat,
    options?: LeaseCallOptions,
  ): Promise<HeartbeatResult> {
    return this.cluster.heartbeat(cluster, beat, options);
  }

  memberLoops(
    cluster: string,
    identity: string,
    digest: string,
    options?: LeaseCallOptions,
  ): Promise<readonly string[] | undefined> {
    return this.cluster.memberLoops(cluster, identity, digest, options);
  }

  claimLoops(
    cluster: string,
    identity: string,
    session: number,
    loops: readonly string[],
    options?: LeaseCallOptions,
  ): Promise<readonly ClaimResult[]> {
    return this.cluster.claimLoops(cluster, identity, session, loops, options);
  }

  releaseLoops(
    cluster: string,
    identity: string,
    loops: readonly OwnedLoop[],
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ): Promise<readonly string[]> {
    return this.cluster.releaseLoops(cluster, identity, loops, runs, options);
  }

  leave(
    cluster: string,
    identity: string,
    session: number,
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ): Promise<boolean> {
    return this.cluster.leave(cluster, identity, session, runs, options);
  }

  controlLoop(
    cluster: string,
    loop: string,
    change: ControlChange,
    options?: LeaseCallOptions,
  ): Promise<number> {
    return this.cluster.controlLoop(cluster, loop, change, options);
  }

  controls(cluster: string, options?: LeaseCallOptions): Promise<Controls> {
    return this.cluster.controls(cluster, options);
  }

  loopRuns(
    cluster: string,
    loops?: readonly string[],
    options?: LeaseCallOptions,
  ): Promise<readonly LoopRun[]> {
    return this.cluster.loopRuns(cluster, loops, options);
  }

  watchCluster(cluster: string, onChange: () => void): Promise<LeaseWatch> {
    return this.cluster.watch(cluster, onChange);
  }

  /**
   * Ends the store's own pool and its LISTEN connection without waiting on the server: after
   * `pool.end()` has had 100 ms, the sockets still open are destroyed, so that a frozen or
   * unreachable server never holds a shutdown or the process.
   */
  async close(): Promise<void> {
    this.releases.close();
    await this.pool.close();
  }
}
