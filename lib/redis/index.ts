/** `nestjs-wait/redis`: leases in Redis for leader election (needs the `ioredis` package). */
export { RedisLeaseStore } from './redis-lease-store.js';
export type { RedisLeaseStoreOptions } from './redis-options.js';
