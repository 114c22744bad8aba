import type { PoolClient } from 'pg';
import type { LeaseWatch } from '../leader/lease-store.js';
import { messages } from '../leader/leader-messages.js';
import { destroySocket, type PostgresPool } from './postgres-pool.js';

interface Listener {
  readonly client: PoolClient;
  alive: boolean;
  readonly byName: Map<string, Set<() => void>>;
  /** Marks it dead and destroys its connection; idempotent. */
  readonly lost: () => void;
}

/**
 * The announcements of a `PostgresLeaseStore`: one connection of the pool holds `LISTEN` on the
 * store's channel for every watch, opened on the first; a watch is inactive once that connection
 * is lost, and the next watch opens a new one. Each watch is keyed by the payload it waits for:
 * a lease's name for its releases, a cluster's announcement (`announcementOf`) for the cluster's
 * changes. Internal.
 */
export class PostgresReleaseListener {
  private listener: Promise<Listener> | undefined = undefined;
  /** The LISTEN connection once it listens. */
  private current: Listener | undefined = undefined;

  constructor(
    private readonly channel: string,
    private readonly pool: PostgresPool,
  ) {}

  /**
   * Calls `onReleased` on every announcement whose payload is `name` (a lease's name, or a
   * cluster's announcement), until the watch is closed.
   */
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

  /** Drops the LISTEN connection at once (the store is closing). */
  close(): void {
    this.current?.lost();
    this.current = undefined;
  }

  /** One connection holds LISTEN for every watched lease of the store. */
  private async listen(): Promise<Listener> {
    const pool = await this.pool.connection();
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
}
