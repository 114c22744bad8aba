import type { Redis, RedisOptions } from 'ioredis';
import type { AcquireResult, Lease, LeaseStore, LeaseWatch } from '../leader/lease-store.js';
import { loadPeer } from '../leader/optional-peer.js';

/** How `RedisLeaseStore` reaches Redis; every field has a default. */
export interface RedisLeaseStoreOptions {
  /**
   * An ioredis client to use; the store never closes it (it opens one duplicate for release
   * announcements, and closes that). Default: a client of its own on `url`.
   */
  client?: Redis;
  /** Where to connect when no `client` is given. Default `'redis://127.0.0.1:6379'`. */
  url?: string;
  /** Extra ioredis options for the store's own clients. Default none. */
  redis?: RedisOptions;
  /** Prefix of the store's keys and channel. Default `'nestjs-wait:lease:'`. */
  keyPrefix?: string;
}

// Values are 'nestjs-wait/1 <token> <holder>'; anything else in a lease key is not trusted.
// Atomic on the server: a lease key is only ever taken, extended or deleted by these scripts.
// KEYS: lease, token counter. ARGV: identity, ttl. The counter has no expiry, so a new term's
// token is greater than every earlier one even after the lease key expired.
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local holder = string.match(cur, '^nestjs%-wait/1 %d+ (.+)$')
  if holder ~= ARGV[1] then
    if holder then return {0, holder} end
    return {0}
  end
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], 'nestjs-wait/1 ' .. token .. ' ' .. ARGV[1], 'PX', ARGV[2])
return {1, tostring(token)}`;
// KEYS: lease. ARGV: value, ttl.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
// KEYS: lease. ARGV: value, channel, name.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0`;

/**
 * Leases in Redis, for replicas of one app (`nestjs-wait/redis`, needs `ioredis`). A lease is one
 * key set with `NX`-like semantics and `PX` (so Redis's clock keeps the time to live), taken,
 * renewed and released by Lua scripts that compare the whole value (term token and holder).
 * Fencing tokens come from a counter key beside it (`INCR`); they grow as long as Redis keeps its
 * data (persistence or replication), so a Redis that loses its data restarts them.
 * Keys use a hash tag, `{name}`, so a lease's keys share a Redis Cluster slot.
 *
 * A release is published on a channel, so followers take over at once.
 */
export class RedisLeaseStore implements LeaseStore {
  private readonly prefix: string;
  private client: Promise<Redis> | undefined = undefined;
  private subscriber: Promise<Redis> | undefined = undefined;
  private readonly listeners = new Map<string, Set<() => void>>();
  /** The client's last connection error: a failed command reports it (a wrong password, say). */
  private lastError: Error | undefined = undefined;
  private readonly owned: Promise<Redis>[] = [];

  /** @param options - see {@link RedisLeaseStoreOptions} for defaults. */
  constructor(private readonly options: RedisLeaseStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('new RedisLeaseStore(): options must be an object');
    }
    const { url, keyPrefix } = options;
    if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
      throw new TypeError(
        `new RedisLeaseStore(): url must be a redis:// or rediss:// URL; got ${JSON.stringify(url)}`,
      );
    }
    if (keyPrefix !== undefined && typeof keyPrefix !== 'string') {
      throw new TypeError('new RedisLeaseStore(): keyPrefix must be a string');
    }
    this.prefix = keyPrefix ?? 'nestjs-wait:lease:';
  }

  async acquire(name: string, identity: string, ttl: number): Promise<AcquireResult> {
    const redis = await this.connection();
    const reply = (await this.command(() =>
      redis.eval(ACQUIRE, 2, this.key(name), `${this.key(name)}:token`, identity, ttl),
    )) as [number, string?];
    if (reply[0] === 1)
      return { acquired: true, lease: { holder: identity, token: toToken(reply[1]) } };
    return { acquired: false, holder: reply[1] };
  }

  async renew(name: string, lease: Lease, ttl: number): Promise<boolean> {
    const redis = await this.connection();
    const reply = await this.command(() =>
      redis.eval(RENEW, 1, this.key(name), valueOf(lease), ttl),
    );
    return reply === 1;
  }

  async release(name: string, lease: Lease): Promise<boolean> {
    const redis = await this.connection();
    const reply = await this.command(() =>
      redis.eval(RELEASE, 1, this.key(name), valueOf(lease), this.channel(name), name),
    );
    return reply === 1;
  }

  async watch(name: string, onReleased: () => void): Promise<LeaseWatch> {
    const subscriber = await (this.subscriber ??= this.open(true));
    const channel = this.channel(name);
    let listeners = this.listeners.get(channel);
    if (listeners === undefined) {
      this.listeners.set(channel, (listeners = new Set()));
      await subscriber.subscribe(channel);
    }
    const listener = (): void => onReleased();
    listeners.add(listener);
    // ioredis subscribes again by itself after a reconnect: the watch stays active.
    return {
      active: true,
      close: async () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          this.listeners.delete(channel);
          await subscriber.unsubscribe(channel).catch(() => undefined);
        }
      },
    };
  }

  async close(): Promise<void> {
    const owned = await Promise.allSettled(this.owned);
    for (const result of owned) {
      if (result.status === 'fulfilled') result.value.disconnect();
    }
  }

  private key(name: string): string {
    return `${this.prefix}{${name}}`;
  }

  private channel(name: string): string {
    return `${this.key(name)}:released`;
  }

  private connection(): Promise<Redis> {
    return (this.client ??= this.options.client
      ? Promise.resolve(this.options.client)
      : this.open(false));
  }

  /** A client of the store's own: the main one fails fast while disconnected (no queue to pile up). */
  private open(subscriber: boolean): Promise<Redis> {
    const opened = (async () => {
      const { client, url, redis } = this.options;
      let connection: Redis;
      if (client !== undefined) {
        connection = client.duplicate();
      } else {
        const module = await loadPeer<{ Redis?: typeof Redis; default?: typeof Redis }>(
          'ioredis',
          'RedisLeaseStore',
        );
        const Client = (module.Redis ?? module.default)!;
        connection = new Client(url ?? 'redis://127.0.0.1:6379', {
          enableOfflineQueue: subscriber,
          ...redis,
        });
      }
      // Without a listener ioredis prints every reconnection error; failed commands report it.
      connection.on('error', (error: Error) => (this.lastError = error));
      connection.on('ready', () => (this.lastError = undefined));
      if (subscriber) {
        connection.on('message', (channel: string) => {
          for (const listener of this.listeners.get(channel) ?? []) listener();
        });
      }
      return connection;
    })();
    this.owned.push(opened);
    return opened;
  }

  /**
   * Runs a command; a failure while disconnected names the connection's own error. The store's
   * own client queues nothing while disconnected, so its first command waits for the connection.
   */
  private async command<T>(run: () => Promise<T>): Promise<T> {
    try {
      const redis = await this.connection();
      if (redis.status !== 'ready' && redis.options.enableOfflineQueue === false) {
        await this.connected(redis);
      }
      return await run();
    } catch (error) {
      const cause = this.lastError;
      if (cause !== undefined && cause !== error) {
        throw new Error(`${cause.message} (${(error as Error).message})`, { cause: error });
      }
      throw error;
    }
  }

  private connected(redis: Redis): Promise<void> {
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
}

function valueOf(lease: Lease): string {
  return `nestjs-wait/1 ${lease.token} ${lease.holder}`;
}

function toToken(text: string | undefined): number {
  const token = Number(text);
  if (!Number.isSafeInteger(token) || token <= 0) {
    throw new Error(`the lease's token counter holds ${JSON.stringify(text)}, not a token`);
  }
  return token;
}
