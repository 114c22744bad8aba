import type { Redis, RedisOptions } from 'ioredis';
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
// Every script first reads the server's clock (TIME, allowed before writes since Redis 5's
// effects replication): it answers with it, and refuses to act after ARGV's deadline (server
// ms, 0 for none), so a command queued on a paused or frozen server does nothing once its
// caller gave up. Numbers go out as strings: Lua's tostring() would print 1.7e+15.
const CLOCK = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local nowText = string.format('%.3f', now)
local deadline = tonumber(ARGV[#ARGV])
if deadline > 0 and now > deadline then return {-1, nowText} end`;
// KEYS: lease, token counter. ARGV: identity, ttl, deadline. The counter has no expiry, and a
// token is never below the server's clock in microseconds, so a new term's token is greater
// than every earlier one even after the lease key expired or Redis lost its data.
const ACQUIRE = `${CLOCK}
local cur = redis.call('GET', KEYS[1])
if cur then
  local holder = string.match(cur, '^nestjs%-wait/1 %d+ (.+)$')
  if holder ~= ARGV[1] then
    if holder then return {0, nowText, holder} end
    return {0, nowText}
  end
end
local token = redis.call('INCR', KEYS[2])
local floor = tonumber(t[1]) * 1000000 + tonumber(t[2])
if token < floor then
  token = floor
  redis.call('SET', KEYS[2], string.format('%.0f', token))
end
local text = string.format('%.0f', token)
redis.call('SET', KEYS[1], 'nestjs-wait/1 ' .. text .. ' ' .. ARGV[1], 'PX', ARGV[2])
return {1, nowText, text}`;
// KEYS: lease. ARGV: value, ttl, deadline. PEXPIRE counts from now: when the script runs.
const RENEW = `${CLOCK}
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return {redis.call('PEXPIRE', KEYS[1], ARGV[2]), nowText}
end
return {0, nowText}`;
// KEYS: lease. ARGV: holder, token, channel, name, deadline. Ends the holder's term with that
// token or a later one (see LeaseStore.release).
const RELEASE = `${CLOCK}
local cur = redis.call('GET', KEYS[1])
if cur then
  local token, holder = string.match(cur, '^nestjs%-wait/1 (%d+) (.+)$')
  if holder == ARGV[1] and tonumber(token) >= tonumber(ARGV[2]) then
    redis.call('DEL', KEYS[1])
    redis.call('PUBLISH', ARGV[3], ARGV[4])
    return {1, nowText}
  end
end
return {0, nowText}`;

/**
 * Leases in Redis, for replicas of one app (`nestjs-wait/redis`, needs `ioredis`; Redis 5 or
 * later). A lease is one key set with `PX` (so Redis's clock keeps the time to live, counted
 * from when the script runs), taken, renewed and released by Lua scripts that compare the whole
 * value (term token and holder) and refuse to act after the caller's deadline.
 *
 * Fencing tokens come from a counter key beside it (`INCR`), never below the server's clock in
 * microseconds: they keep growing even when Redis loses its data (a restart without
 * persistence, a failover to an empty replica), as long as its clock does not go back.
 * Keys use a hash tag, `{name}`, so a lease's keys share a Redis Cluster slot.
 *
 * A release is published on a channel, so followers take over at once.
 *
 * The store's main connection queues nothing while disconnected. A command that ioredis resends
 * after a reconnect still carries its deadline, so it does nothing once its caller gave up.
 */
export class RedisLeaseStore implements LeaseStore {
  private readonly prefix: string;
  private client: Promise<Redis> | undefined = undefined;
  private subscriber: Promise<Redis> | undefined = undefined;
  private readonly listeners = new Map<string, Set<() => void>>();
  /** The client's last connection error: a failed command reports it (a wrong password, say). */
  private lastError: Error | undefined = undefined;
  private readonly owned: Promise<Redis>[] = [];
  private readonly deadline = new ServerDeadline();

  /** @param options - see {@link RedisLeaseStoreOptions} for defaults. */
  constructor(private readonly options: RedisLeaseStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(messages.storeOptions('RedisLeaseStore'));
    }
    const { url, keyPrefix } = options;
    if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
      throw new TypeError(messages.redisUrl(url));
    }
    if (keyPrefix !== undefined && typeof keyPrefix !== 'string') {
      throw new TypeError(messages.keyPrefix(keyPrefix));
    }
    this.prefix = keyPrefix ?? 'nestjs-wait:lease:';
  }

  async acquire(
    name: string,
    identity: string,
    ttl: number,
    options?: LeaseCallOptions,
  ): Promise<AcquireResult> {
    const key = this.key(name);
    const reply = await this.script('acquire', options, (redis, deadline) =>
      redis.eval(ACQUIRE, 2, key, `${key}:token`, identity, ttl, deadline),
    );
    if (reply[0] === 1)
      return { acquired: true, lease: { holder: identity, token: toToken(reply[2]) } };
    return { acquired: false, holder: reply[2] };
  }

  async renew(
    name: string,
    lease: Lease,
    ttl: number,
    options?: LeaseCallOptions,
  ): Promise<boolean> {
    const reply = await this.script('renew', options, (redis, deadline) =>
      redis.eval(RENEW, 1, this.key(name), valueOf(lease), ttl, deadline),
    );
    return reply[0] === 1;
  }

  async release(name: string, lease: Lease, options?: LeaseCallOptions): Promise<boolean> {
    const reply = await this.script('release', options, (redis, deadline) =>
      redis.eval(
        RELEASE,
        1,
        this.key(name),
        lease.holder,
        lease.token,
        this.channel(name),
        name,
        deadline,
      ),
    );
    return reply[0] === 1;
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
      close: () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          this.listeners.delete(channel);
          // Not awaited: the subscriber queues while offline, and a frozen or unreachable
          // server must not hold a shutdown; no callback runs for this watch any more.
          subscriber.unsubscribe(channel).catch(() => undefined);
        }
        return Promise.resolve();
      },
    };
  }

  /** Closes the store's own connections at once, without waiting for the server. */
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

  /**
   * A client of the store's own: the main one fails fast while disconnected (no queue to pile
   * up); a disconnect closes the socket within 100 ms even when the server does not answer
   * (ioredis waits 2 s by default, holding the process open after a shutdown).
   */
  private open(subscriber: boolean): Promise<Redis> {
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
   * Runs a script with the call's server deadline and learns the server's time from its answer.
   * A failure while disconnected names the connection's own error. The store's own client queues
   * nothing while disconnected, so its first command waits for the connection.
   */
  private async script(
    operation: string,
    options: LeaseCallOptions | undefined,
    run: (redis: Redis, deadline: string) => Promise<unknown>,
  ): Promise<[number, string, string?]> {
    const started = this.deadline.now();
    try {
      const redis = await this.connection();
      if (redis.status !== 'ready' && redis.options.enableOfflineQueue === false) {
        await this.connected(redis);
      }
      if (!this.deadline.calibrated && options?.timeout !== undefined) {
        const [seconds, micros] = await redis.time();
        this.deadline.observe(Number(seconds) * 1000 + Number(micros) / 1000);
      }
      const deadline = this.deadline.of(started, options?.timeout);
      const reply = (await run(redis, deadline === undefined ? '0' : deadline.toFixed(3))) as [
        number,
        string,
        string?,
      ];
      this.deadline.observe(Number(reply[1]));
      if (reply[0] === -1) throw new LeaseCallLateError(messages.late(operation));
      return reply;
    } catch (error) {
      const cause = this.lastError;
      if (cause !== undefined && cause !== error && !(error instanceof LeaseCallLateError)) {
        throw new Error(messages.withCause(cause.message, (error as Error).message), {
          cause: error,
        });
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
    throw new Error(messages.badCounter(text));
  }
  return token;
}
