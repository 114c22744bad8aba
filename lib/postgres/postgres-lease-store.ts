import type { Pool, PoolClient, PoolConfig } from 'pg';
import type {
  AcquireResult,
  Lease,
  LeaseCallOptions,
  LeaseStore,
  LeaseWatch,
} from '../leader/lease-store.js';
import { messages } from '../leader/leader.messages.js';
import { LeaseCallLateError, ServerDeadline } from '../leader/server-deadline.js';
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
  /** Marks it dead and destroys its connection; idempotent. */
  readonly lost: () => void;
}

/** pg's client keeps its socket here; destroying it is the only way not to wait on the server. */
function destroySocket(client: object): void {
  (
    client as { connection?: { stream?: { destroy?: () => void } } }
  ).connection?.stream?.destroy?.();
}

/** The server's clock in microseconds since the epoch: the floor of every new token. */
const MICROS = `(extract(epoch FROM clock_timestamp()) * 1000000)::bigint`;
/** The server's clock in ms, which every answer carries (see ServerDeadline). */
const SERVER_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS server_ms`;
/**
 * Whether the statement is still within its caller's deadline, in server ms (`$D`, replaced by
 * the statement's last parameter; NULL for none). Checked where the row is written: in an
 * upsert's ON CONFLICT condition, after PostgreSQL took the row's lock.
 */
const ON_TIME = `($D::float8 IS NULL OR clock_timestamp() <= to_timestamp($D::float8 / 1000))`;
/** The expiry of a lease written now, `ttl` the parameter holding its milliseconds. */
const expiry = (ttl: string): string => `clock_timestamp() + ${ttl} * interval '1 millisecond'`;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,40}(\.[A-Za-z_][A-Za-z0-9_]{0,40})?$/;

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
  private readonly table: string;
  private readonly sequence: string;
  private readonly channel: string;
  private pool: Promise<Pool> | undefined = undefined;
  private ready: Promise<void> | undefined = undefined;
  private own: Pool | undefined = undefined;
  private listener: Promise<Listener> | undefined = undefined;
  /** The LISTEN connection once it listens. */
  private current: Listener | undefined = undefined;
  /** Every connection of the store's own pool, destroyed at close if the server hangs. */
  private readonly clients = new Set<PoolClient | object>();
  private readonly deadline = new ServerDeadline();

  /** @param options - see {@link PostgresLeaseStoreOptions} for defaults. */
  constructor(private readonly options: PostgresLeaseStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(messages.storeOptions('PostgresLeaseStore'));
    }
    const { connectionString } = options;
    if (
      connectionString !== undefined &&
      (typeof connectionString !== 'string' ||
        !/^(postgres(ql)?|socket):\/\//.test(connectionString) ||
        !URL.canParse(connectionString))
    ) {
      throw new TypeError(messages.postgresUrl(connectionString));
    }
    const table = options.table ?? 'nestjs_wait_leases';
    if (typeof table !== 'string' || !IDENTIFIER.test(table)) {
      throw new TypeError(messages.table(table));
    }
    const parts = table.split('.');
    const last = parts.pop()!;
    const quote = (name: string): string => `"${name}"`;
    this.table = [...parts, last].map(quote).join('.');
    this.sequence = [...parts, `${last}_token_seq`].map(quote).join('.');
    this.channel = `${table}_released`;
  }

  async acquire(
    name: string,
    identity: string,
    ttl: number,
    options?: LeaseCallOptions,
  ): Promise<AcquireResult> {
    // One statement: take the row if it expired or is this identity's; either way report the
    // holder. GREATEST keeps tokens growing past a row written by hand, and past the server's
    // clock in microseconds, so they grow even after the table and its sequence were lost.
    const row = await this.statement<{ token: string | null; holder: string | null }>(
      'acquire',
      options,
      `WITH taken AS (
         INSERT INTO ${this.table} AS l (name, holder, token, expires_at)
         SELECT $1, $2, GREATEST(nextval('${this.sequence}'), ${MICROS}), ${expiry('$3')}
         WHERE ${ON_TIME}
         ON CONFLICT (name) DO UPDATE
           SET holder = excluded.holder, token = GREATEST(excluded.token, l.token + 1, ${MICROS}),
               expires_at = ${expiry('$3')}
           WHERE (l.expires_at <= clock_timestamp() OR l.holder = excluded.holder) AND ${ON_TIME}
         RETURNING token, holder, expires_at)
       SELECT (SELECT token::text FROM taken WHERE expires_at > clock_timestamp()) AS token,
              COALESCE((SELECT holder FROM taken),
                       (SELECT holder FROM ${this.table} WHERE name = $1)) AS holder,
              ${SERVER_MS}, NOT ${ON_TIME} AS late`,
      [name, identity, ttl],
      (r) => r.token === null,
    );
    if (row.token !== null) {
      return { acquired: true, lease: { holder: identity, token: Number(row.token) } };
    }
    if (row.holder === null) {
      // The row was created by a statement that committed after this one began: its snapshot
      // does not show it, a new statement's does.
      const { rows } = await this.query<{ holder: string }>(
        `SELECT holder FROM ${this.table} WHERE name = $1`,
        [name],
      );
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
    // An upsert, not an UPDATE: PostgreSQL evaluates an UPDATE's condition and new values
    // before it waits for a locked row, and an upsert's after it took the lock, so a renewal
    // that waited on a lock checks the term, the deadline and the expiry then. A row that is
    // gone is replaced by an expired one (harmless: anyone may take it, with a greater token).
    const row = await this.statement<{ done: boolean }>(
      'renew',
      options,
      `WITH renewed AS (
         INSERT INTO ${this.table} AS l (name, holder, token, expires_at)
         SELECT $1, $2, $3, '-infinity' WHERE ${ON_TIME}
         ON CONFLICT (name) DO UPDATE SET expires_at = ${expiry('$4')}
           WHERE l.holder = $2 AND l.token = $3 AND l.expires_at > clock_timestamp() AND ${ON_TIME}
         RETURNING expires_at)
       SELECT EXISTS (SELECT 1 FROM renewed WHERE expires_at > '-infinity') AS done,
              ${SERVER_MS}, NOT ${ON_TIME} AS late`,
      [name, lease.holder, lease.token, ttl],
      (r) => !r.done,
    );
    return row.done;
  }

  async release(name: string, lease: Lease, options?: LeaseCallOptions): Promise<boolean> {
    // The holder's term with this token or a later one ends now (see LeaseStore.release); a
    // placeholder row for a lease that is gone stays at '-infinity', so it is told apart.
    const row = await this.statement<{ done: boolean }>(
      'release',
      options,
      `WITH released AS (
         INSERT INTO ${this.table} AS l (name, holder, token, expires_at)
         SELECT $1, $2, $3, '-infinity' WHERE ${ON_TIME}
         ON CONFLICT (name) DO UPDATE SET expires_at = clock_timestamp()
           WHERE l.holder = $2 AND l.token >= $3 AND l.expires_at > clock_timestamp() AND ${ON_TIME}
         RETURNING name, expires_at),
       announced AS (
         SELECT pg_notify($4, name) FROM released WHERE expires_at > '-infinity')
       SELECT EXISTS (SELECT 1 FROM announced) AS done, ${SERVER_MS}, NOT ${ON_TIME} AS late`,
      [name, lease.holder, lease.token, this.channel],
      (r) => !r.done,
    );
    return row.done;
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
      close: () => {
        callbacks.delete(callback);
        if (callbacks.size === 0) listener.byName.delete(name);
        if (listener.byName.size > 0) return Promise.resolve();
        if (this.current === listener) {
          this.current = undefined;
          this.listener = undefined;
        }
        // Destroyed rather than UNLISTENed and kept: nothing to wait for from a server that
        // may be frozen or gone, and the pool opens a fresh connection when one is needed.
        listener.lost();
        return Promise.resolve();
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
          return reject(error ?? new Error(messages.noClient));
        const opened: Listener = {
          client,
          alive: true,
          byName: new Map(),
          lost: () => {
            if (!opened.alive) return;
            opened.alive = false;
            // Back to the pool, destroyed: a dead LISTEN connection kept checked out would hold
            // its pool slot for ever, and a few lost connections would leave none for leases.
            client.release(true);
            destroySocket(client);
            // The next watch() opens a new connection. Only the listener that is settled and
            // current is forgotten: the one being opened may be this very one, about to reject
            // (chaining on it here made an unhandled rejection of a LISTEN killed mid-way).
            if (this.current === opened) {
              this.current = undefined;
              this.listener = undefined;
            }
          },
        };
        client.on('error', opened.lost);
        client.on('end', opened.lost);
        client.on('notification', (message) => {
          if (message.channel !== this.channel) return;
          for (const callback of opened.byName.get(message.payload ?? '') ?? []) callback();
        });
        client.query(`LISTEN "${this.channel}"`).then(
          () => {
            if (!opened.alive) return reject(new Error(messages.listenLost));
            this.current = opened;
            resolve(opened);
          },
          (failure: Error) => {
            opened.lost();
            reject(failure);
          },
        );
      });
    });
  }

  /**
   * Ends the store's own pool and its LISTEN connection without waiting on the server: after
   * `pool.end()` has had 100 ms, the sockets still open are destroyed, so that a frozen or
   * unreachable server never holds a shutdown or the process.
   */
  async close(): Promise<void> {
    this.current?.lost();
    this.current = undefined;
    const own = this.own;
    if (own === undefined) return;
    const ended = own.end().catch(() => undefined);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, 100)));
    await Promise.race([ended, late]);
    clearTimeout(timer);
    for (const client of this.clients) destroySocket(client);
    this.clients.clear();
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
    const pool = await this.connection();
    await (this.ready ??= this.createTable(pool).catch((error: unknown) => {
      this.ready = undefined; // try again on the next call
      throw error;
    }));
    return pool;
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
      pool.on('connect', (client) => this.clients.add(client));
      pool.on('remove', (client) => this.clients.delete(client));
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
    const { rows } = await pool.query<{ server_ms: number }>(`SELECT ${SERVER_MS}`);
    this.deadline.observe(rows[0].server_ms);
  }
}
