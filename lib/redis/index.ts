/** `nestjs-wait/redis`: leases in Redis for leader election (needs the `ioredis` package). */
export { RedisLeaseStore, type RedisLeaseStoreOptions } from './redis-lease-store.js';
