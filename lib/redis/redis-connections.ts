import type { Redis } from 'ioredis';
import { loadPeer } from '../leader/optional-peer.js';
import type { RedisLeaseStoreOptions } from './redis-options.js';

/**
 * The connections of a `RedisLeaseStore`: the main one for its scripts (the given client, or one
 * of its own), and subscribers for release announcements. Internal.
 */
export class RedisConnections {
  private client: Promise<Redis> | undefined = undefined;
  /** The client's last connection error: a failed command reports it (a wrong password, say). */
  lastError: Error | undefined = undefined;
  private readonly owned: Promise<Redis>[] = [];

  constructor(private readonly options: RedisLeaseStoreOptions) {}

  /** The connection scripts run on, opened on first use. */
  connection(): Promise<Redis> {
    return (this.client ??= this.options.client
      ? Promise.resolve(this.options.client)
      : this.open(undefined));
  }

  /** A new subscriber connection; `onMessage` hears the channel of every message. */
  subscriber(onMessage: (channel: string) => void): Promise<Redis> {
    return this.open(onMessage);
  }

  /**
   * A client of the store's own: the main one fails fast while disconnected (no queue to pile
   * up); a disconnect closes the socket within 100 ms even when the server does not answer
   * (ioredis waits 2 s by default, holding the process open after a shutdown).
   */
  private open(onMessage: ((channel: string) => void) | undefined): Promise<Redis> {
    const subscriber = onMessage !== undefined;
    const opened = (async () => {
      const { client, url, redis } = this.options;
      const own = { enableOfflineQueue: subscriber, disconnectTimeout: 100 };
      let connection: Redis;
      if (client !== undefined) {
        connection = client.duplicate(subscriber ? own : {});
      } else {
        const module = await loadPeer<{ Redis?: typeof Redis; default?: typeof Redis }>(
          'ioredis',
          'RedisLeaseStore',
        );
        const Client = (module.Redis ?? module.default)!;
        connection = new Client(url ?? 'redis://127.0.0.1:6379', { ...own, ...redis });
      }
      // Without a listener ioredis prints every reconnection error; failed commands report it.
      connection.on('error', (error: Error) => (this.lastError = error));
      connection.on('ready', () => (this.lastError = undefined));
      if (subscriber) connection.on('message', onMessage);
      return connection;
    })();
    this.owned.push(opened);
    return opened;
  }

  /**
   * Resolves once `redis` is ready; rejects with the connection's error when it is not
   * connecting and has failed, or when it fails before it is ready.
   */
  connected(redis: Redis): Promise<void> {
    if (redis.status !== 'connecting' && this.lastError !== undefined) {
      return Promise.reject(this.lastError);
    }
    return new Promise<void>((resolve, reject) => {
      const ready = (): void => {
        redis.off('error', failed);
        resolve();
      };
      const failed = (error: Error): void => {
        redis.off('ready', ready);
        reject(error);
      };
      redis.once('ready', ready);
      redis.once('error', failed);
    });
  }

  /** Closes the connections the store opened at once, without waiting for the server. */
  async close(): Promise<void> {
    const owned = await Promise.allSettled(this.owned);
    for (const result of owned) {
      if (result.status === 'fulfilled') result.value.disconnect();
    }
  }
}
