import type { Pool, PoolClient, PoolConfig } from 'pg';
import type { AcquireResult, Lease, LeaseStore, LeaseWatch } from '../leader/lease-store.js';
import { loadPeer } from '../leader/optional-peer.js';

/** How `PostgresLeaseStore` reaches PostgreSQL; every field has a default. */
export interface PostgresLeaseStoreOptions {
  /**
   * A `pg` pool to use; the store never ends it. Release announcements hold one of its
   * connections for `LISTEN`. Default: a pool of its own from `connectionString` or `config`.
   */
  pool?: Pool;
  /** Where to connect when no `pool` is given. Default: `pg`'s (the `PG*` environment variables). */
  connectionString?: string;
  /**
   * Extra `pg` pool settings for the store's own pool. Defaults: `connectionTimeoutMillis` 5000,
   * `query_timeout` 10000 (so that connections killed mid-start or statements stuck on a lock
   * free their pool slot).
   */
  config?: PoolConfig;
  /**
   * The lease table (optionally `schema.table`), created if missing with a token sequence beside
   * it, `<table>_token_seq`. Default `'nestjs_wait_leases'`.
   */
  table?: string;
}

interface Listener {
  readonly client: PoolClient;
  alive: boolean;
  readonly byName: Map<string, Set<() => void>>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,40}(\.[A-Za-z_][A-Za-z0-9_]{0,40})?$/;

/**
 * Leases in PostgreSQL, for replicas of one app (`nestjs-wait/postgres`, needs `pg`). Every
 * operation is one conditional statement, so any connection of a pool will do (no session
 * state, no advisory locks, which break on pooled connections). Expiry is kept by the server's
 * `clock_timestamp()`. Fencing tokens come from a sequence and never fall below the row's last
 * token, so they grow even if the row is deleted or written by something else.
 *
 * A release is announced with `NOTIFY`, so followers take over at once.
 */
export class PostgresLeaseStore implements LeaseStore {
  private readonly table: string;
  private readonly sequence: string;
  private readonly channel: string;
  private pool: Promise<Pool> | undefined = undefined;
  private ready: Promise<void> | undefined = undefined;
  private own: Pool | undefined = undefined;
  private listener: Promise<Listener> | undefined = undefined;

  /** @param options - see {@link PostgresLeaseStoreOptions} for defaults. */
  constructor(private readonly options: PostgresLeaseStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('new PostgresLeaseStore(): options must be an object');
    }
    const table = options.table ?? 'nestjs_wait_leases';
    if (typeof table !== 'string' || !IDENTIFIER.test(table)) {
      throw new TypeError(
        `new PostgresLeaseStore(): table must be an SQL name like "leases" or "app.leases" (letters, digits, _; at most 41 each); got ${JSON.stringify(table)}`,
      );
    }
    const parts = table.split('.');
    const last = parts.pop()!;
    const quote = (name: string): string => `"${name}"`;
    this.table = [...parts, last].map(quote).join('.');
    this.sequence = [...parts, `${last}_token_seq`].map(quote).join('.');
    this.channel = `${table}_released`;
  }

  async acquire(name: string, identity: string, ttl: number): Promise<AcquireResult> {
    // One statement: take the row if it expired or is this identity's; either way report the
    // holder the statement saw. GREATEST keeps tokens growing past a row written by hand.
    const { rows } = await this.query<{ token: string | null; holder: string }>(
      `WITH taken AS (
         INSERT INTO ${this.table} AS l (name, holder, token, expires_at)
         VALUES ($1, $2, nextval('${this.sequence}'), clock_timestamp() + $3 * interval '1 millisecond')
         ON CONFLICT (name) DO UPDATE
           SET holder = excluded.holder, token = GREATEST(excluded.token, l.token + 1),
               expires_at = excluded.expires_at
           WHERE l.expires_at <= clock_timestamp() OR l.holder = excluded.holder
         RETURNING token, holder)
       SELECT token::text, holder FROM taken
       UNION ALL
       SELECT NULL, holder FROM ${this.table} WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM taken)`,
      [name, identity, ttl],
    );
    const row = rows[0];
    if (row?.token != null) {
      return { acquired: true, lease: { holder: identity, token: Number(row.token) } };
    }
    return { acquired: false, holder: row?.holder };
  }

  async renew(name: string, lease: Lease, ttl: number): Promise<boolean> {
    const { rowCount } = await this.query(
      `UPDATE ${this.table} SET expires_at = clock_timestamp() + $4 * interval '1 millisecond'
       WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > clock_timestamp()`,
      [name, lease.holder, lease.token, ttl],
    );
    return rowCount === 1;
  }

  async release(name: string, lease: Lease): Promise<boolean> {
    const { rowCount } = await this.query(
      `WITH released AS (
         UPDATE ${this.table} SET expires_at = '-infinity'
         WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > clock_timestamp()
         RETURNING name)
       SELECT pg_notify($4, name) FROM released`,
      [name, lease.holder, lease.token, this.channel],
    );
    return rowCount === 1;
  }

  async watch(name: string, onReleased: () => void): Promise<LeaseWatch> {
    const listener = await (this.listener ??= this.listen().catch((error: unknown) => {
      this.listener = undefined;
      throw error;
    }));
    let callbacks = listener.byName.get(name);
    if (callbacks === undefined) listener.byName.set(name, (callbacks = new Set()));
    const callback = (): void => onReleased();
    callbacks.add(callback);
    return {
      get active() {
        return listener.alive;
      },
      close: async () => {
        callbacks.delete(callback);
        if (callbacks.size === 0) listener.byName.delete(name);
        if (listener.byName.size > 0) return;
        if (this.listener !== undefined && (await this.listener) === listener) {
          this.listener = undefined;
        }
        if (!listener.alive) return; // lost: released already
        listener.alive = false;
        await listener.client.query(`UNLISTEN "${this.channel}"`).catch(() => undefined);
        listener.client.release();
      },
    };
  }

  /** One connection holds LISTEN for every watched lease of the store. */
  private async listen(): Promise<Listener> {
    const pool = await this.connection();
    return new Promise<Listener>((resolve, reject) => {
      // The callback form, not the promise: the listeners must be on the client in the same
      // turn. A connection killed just after it opened can deliver its FATAL message in the very
      // chunk that completed the connect, before a promise continuation could add them, and an
      // 'error' with no listener crashes the process.
      pool.connect((error: Error | undefined, client: PoolClient | undefined) => {
        if (error !== undefined || client === undefined)
          return reject(error ?? new Error('no client'));
        const opened: Listener = { client, alive: true, byName: new Map() };
        const lost = (): void => {
          if (!opened.alive) return;
          opened.alive = false;
          // Back to the pool, destroyed: a dead LISTEN connection kept checked out would hold
          // its pool slot for ever, and a few lost connections would leave none for the leases.
          client.release(true);
          // The next watch() opens a new connection.
          void this.listener?.then((current) => {
            if (current === opened) this.listener = undefined;
          });
        };
        client.on('error', lost);
        client.on('end', lost);
        client.on('notification', (message) => {
          if (message.channel !== this.channel) return;
          for (const callback of opened.byName.get(message.payload ?? '') ?? []) callback();
        });
        client.query(`LISTEN "${this.channel}"`).then(
          () => resolve(opened),
          (failure: Error) => {
            lost();
            reject(failure);
          },
        );
      });
    });
  }

  async close(): Promise<void> {
    const listener = await this.listener?.catch(() => undefined);
    if (listener?.alive === true) {
      listener.alive = false;
      listener.client.release(true);
    }
    await this.own?.end();
  }

  private async query<R extends object = object>(
    text: string,
    values: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    const pool = await this.connection();
    await (this.ready ??= this.createTable(pool).catch((error: unknown) => {
      this.ready = undefined; // try again on the next call
      throw error;
    }));
    return pool.query<R>(text, values);
  }

  private connection(): Promise<Pool> {
    return (this.pool ??= (async () => {
      if (this.options.pool !== undefined) return this.options.pool;
      const pg = await loadPeer<{ default?: { Pool: typeof Pool }; Pool?: typeof Pool }>(
        'pg',
        'PostgresLeaseStore',
      );
      const PoolClass = (pg.Pool ?? pg.default?.Pool)!;
      const pool = new PoolClass({
        connectionString: this.options.connectionString,
        // A connection killed while it starts can leave its connect() waiting for ever, and a
        // pool whose every slot waits serves nobody again: give up on both after a while.
        connectionTimeoutMillis: 5_000,
        query_timeout: 10_000,
        ...this.options.config,
      });
      // An idle connection killed by the server emits 'error' on the pool: without a listener
      // that would crash the process; the next query reconnects.
      pool.on('error', () => undefined);
      this.own = pool;
      return pool;
    })());
  }

  private async createTable(pool: Pool): Promise<void> {
    const statements = [
      `CREATE SEQUENCE IF NOT EXISTS ${this.sequence}`,
      `CREATE TABLE IF NOT EXISTS ${this.table} (
         name text PRIMARY KEY,
         holder text NOT NULL,
         token bigint NOT NULL,
         expires_at timestamptz NOT NULL)`,
    ];
    for (const statement of statements) {
      try {
        await pool.query(statement);
      } catch (error) {
        // Replicas starting together race on IF NOT EXISTS; the loser finds it made already.
        const code = (error as { code?: string }).code;
        if (code !== '23505' && code !== '42P07') throw error;
      }
    }
  }
}
