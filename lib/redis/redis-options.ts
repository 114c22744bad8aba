import type { Redis, RedisOptions } from 'ioredis';
import { messages } from '../leader/leader-messages.js';

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

/**
 * Checks the options of `new RedisLeaseStore()`, throwing a `TypeError` that names the value;
 * returns the key prefix they give. Internal.
 */
export function checkRedisOptions(options: RedisLeaseStoreOptions): string {
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
  return keyPrefix ?? 'nestjs-wait:lease:';
}
