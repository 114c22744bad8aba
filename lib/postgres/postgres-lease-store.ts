import type { Pool } from 'pg';
import type {
  AcquireResult,
  Lease,
  LeaseCallOptions,
  LeaseStore,
  LeaseWatch,
} from '../leader/lease-store.js';
import { messages } from '../leader/leader-messages.js';
import { LeaseCallLateError, ServerDeadline } from '../leader/server-deadline.js';
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
 */
export class PostgresLeaseStore implements LeaseStore {
  private readonly sql: LeaseStatements;
  private readonly channel: string;
  private readonly pool: PostgresPool;
  private readonly releases: PostgresReleaseListener;
  private ready: Promise<void> | undefined = undefined;
  private readonly deadline = new ServerDeadline();

  /** @param options - see {@link PostgresLeaseStoreOptions} for defaults. */
  constructor(options: PostgresLeaseStoreOptions = {}) {
    const { table, sequence, channel } = checkPostgresOptions(options);
    this.sql = leaseStatements(table, sequence);
    this.channel = channel;
    this.pool = new PostgresPool(options);
    this.releases = new PostgresReleaseListener(channel, this.pool);
  }

  async acquire(
    name: string,
    identity: string,
    ttl: number,
    options?: LeaseCallOptions,
  ): Promise<AcquireResult> {
    const row = await this.statement<{ token: string | null; holder: string | null }>(
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
      const { rows } = await this.query<{ holder: string }>(this.sql.holder, [name]);
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
    const row = await this.statement<{ done: boolean }>(
      'renew',
      options,
      this.sql.renew,
      [name, lease.holder, lease.token, ttl],
      (r) => !r.done,
    );
    return row.done;
  }

  async release(name: string, lease: Lease, options?: LeaseCallOptions): Promise<boolean> {
    const row = await this.statement<{ done: boolean }>(
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

  /**
   * Ends the store's own pool and its LISTEN connection without waiting on the server: after
   * `pool.end()` has had 100 ms, the sockets still open are destroyed, so that a frozen or
   * unreachable server never holds a shutdown or the process.
   */
  async close(): Promise<void> {
    this.releases.close();
    await this.pool.close();
  }

  /**
   * One statement with the call's deadline appended as its last parameter (`$D`). The answer
   * must be one row with `server_ms` and `late`; a late call that changed nothing (`unchanged`)
   * rejects with {@link LeaseCallLateError}.
   */
  private async statement<R extends object>(
    operation: string,
    options: LeaseCallOptions | undefined,
    text: string,
    values: unknown[],
    unchanged: (row: R) => boolean,
  ): Promise<R> {
    const started = this.deadline.now();
    const pool = await this.prepared();
    const deadline = this.deadline.of(started, options?.timeout) ?? null;
    const sql = text.replaceAll('$D', `$${values.length + 1}`);
    const { rows } = await pool.query<R & { server_ms: number; late: boolean }>(sql, [
      ...values,
      deadline,
    ]);
    const row = rows[0];
    this.deadline.observe(row.server_ms);
    if (row.late && unchanged(row)) throw new LeaseCallLateError(messages.late(operation));
    return row;
  }

  private async query<R extends object = object>(
    text: string,
    values: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    return (await this.prepared()).query<R>(text, values);
  }

  /** The pool, once the table exists and the server's clock is known. */
  private async prepared(): Promise<Pool> {
    const pool = await this.pool.connection();
    await (this.ready ??= this.createTable(pool).catch((error: unknown) => {
      this.ready = undefined; // try again on the next call
      throw error;
    }));
    return pool;
  }

  private async createTable(pool: Pool): Promise<void> {
    for (const statement of this.sql.create) {
      try {
        await pool.query(statement);
      } catch (error) {
        // Replicas starting together race on IF NOT EXISTS; the loser finds it made already.
        const code = (error as { code?: string }).code;
        if (code !== '23505' && code !== '42P07') throw error;
      }
    }
    const { rows } = await pool.query<{ server_ms: number }>(this.sql.serverTime);
    this.deadline.observe(rows[0].server_ms);
  }
}
