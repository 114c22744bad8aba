import type { Pool } from 'pg';
import type { LeaseCallOptions } from '../leader/lease-store.js';
import { messages } from '../leader/leader-messages.js';
import { LeaseCallLateError, ServerDeadline } from '../leader/server-deadline.js';
import type { PostgresPool } from './postgres-pool.js';
import { SERVER_TIME } from './postgres-statements.js';

/**
 * Tables (and sequences) a `PostgresLeaseStore` makes on first use, once: the lease table for
 * the lease calls, the cluster tables for the cluster calls (a store that never joins a cluster
 * never makes them). A failed creation is tried again on the next call. Internal.
 */
export class PostgresTables {
  private made: Promise<void> | undefined = undefined;

  constructor(private readonly create: readonly string[]) {}

  /** Resolves once the tables exist; `observe` is given the server's clock after making them. */
  ready(pool: Pool, observe: (serverMs: number) => void): Promise<void> {
    return (this.made ??= this.make(pool, observe).catch((error: unknown) => {
      this.made = undefined; // try again on the next call
      throw error;
    }));
  }

  private async make(pool: Pool, observe: (serverMs: number) => void): Promise<void> {
    for (const statement of this.create) {
      try {
        await pool.query(statement);
      } catch (error) {
        // Replicas starting together race on IF NOT EXISTS; the loser finds it made already.
        const code = (error as { code?: string }).code;
        if (code !== '23505' && code !== '42P07') throw error;
      }
    }
    const { rows } = await pool.query<{ server_ms: number }>(SERVER_TIME);
    observe(rows[0].server_ms);
  }
}

/**
 * How a `PostgresLeaseStore` sends its statements: on its pool, once their tables exist, with the
 * call's deadline on the server's clock (see {@link ServerDeadline}). Internal.
 */
export class PostgresCalls {
  private readonly deadline = new ServerDeadline();

  constructor(private readonly pool: PostgresPool) {}

  /**
   * One statement with the call's deadline appended as its last parameter (`$D`). The answer
   * must be one row with `server_ms` and `late`; a late call that changed nothing (`unchanged`)
   * rejects with {@link LeaseCallLateError}.
   */
  async statement<R extends object>(
    tables: PostgresTables,
    operation: string,
    options: LeaseCallOptions | undefined,
    text: string,
    values: unknown[],
    unchanged: (row: R) => boolean,
  ): Promise<R> {
    const started = this.deadline.now();
    const pool = await this.prepared(tables);
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

  /** A statement without a deadline (a read of its own). */
  async query<R extends object = object>(
    tables: PostgresTables,
    text: string,
    values: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    return (await this.prepared(tables)).query<R>(text, values);
  }

  /** The pool, once `tables` exist and the server's clock is known. */
  private async prepared(tables: PostgresTables): Promise<Pool> {
    const pool = await this.pool.connection();
    await tables.ready(pool, (serverMs) => this.deadline.observe(serverMs));
    return pool;
  }
}
