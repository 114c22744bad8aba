import type { Pool, PoolClient } from 'pg';
import { loadPeer } from '../leader/optional-peer.js';
import type { PostgresLeaseStoreOptions } from './postgres-options.js';

/** pg's client keeps its socket here; destroying it is the only way not to wait on the server. */
export function destroySocket(client: object): void {
  (
    client as { connection?: { stream?: { destroy?: () => void } } }
  ).connection?.stream?.destroy?.();
}

/**
 * The pool of a `PostgresLeaseStore`: the given one, or one of its own, made on first use, that
 * gives up on connections killed mid-start and on statements stuck on a lock. Internal.
 */
export class PostgresPool {
  private pool: Promise<Pool> | undefined = undefined;
  private own: Pool | undefined = undefined;
  /** Every connection of the store's own pool, destroyed at close if the server hangs. */
  private readonly clients = new Set<PoolClient | object>();

  constructor(private readonly options: PostgresLeaseStoreOptions) {}

  /** The pool, made (and `pg` loaded) on the first call. */
  connection(): Promise<Pool> {
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

  /**
   * Ends the store's own pool (never a given one) without waiting on the server: after
   * `pool.end()` has had 100 ms, the sockets still open are destroyed, so that a frozen or
   * unreachable server never holds a shutdown or the process.
   */
  async close(): Promise<void> {
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
}
