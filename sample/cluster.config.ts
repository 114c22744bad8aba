import type { ConfigService } from '@nestjs/config';
import type { ClusterOptions } from 'nestjs-wait';
import { PostgresLeaseStore } from 'nestjs-wait/postgres';
import { RedisLeaseStore } from 'nestjs-wait/redis';

/**
 * The sample's cluster, from the environment. `REDIS_URL` puts the leases in Redis,
 * `DATABASE_URL` in PostgreSQL: the replicas then spread the garbage collectors among them (one
 * owner per loop). With neither, the leases live in this process's memory and the one process
 * runs everything. `LEASE_NAME` (default `'sample-gc'`) is shared by the replicas; `POD_NAME`
 * (default host-pid-random) names this one, as a Kubernetes Deployment would through the
 * downward API. `LEASE_TABLE` names the PostgreSQL lease table (default the store's,
 * `'nestjs_wait_leases'`).
 */
export function cluster(config: ConfigService): ClusterOptions {
  const redisUrl = config.get<string>('REDIS_URL');
  const databaseUrl = config.get<string>('DATABASE_URL');
  const store = redisUrl
    ? new RedisLeaseStore({ url: redisUrl })
    : databaseUrl
      ? new PostgresLeaseStore({
          connectionString: databaseUrl,
          table: config.get<string>('LEASE_TABLE') || undefined,
        })
      : undefined;
  return {
    store,
    name: config.get<string>('LEASE_NAME', 'sample-gc'),
    identity: config.get<string>('POD_NAME') || undefined,
    leaseDuration: config.get<string>('LEASE_DURATION', '15s'),
    renewDeadline: config.get<string>('RENEW_DEADLINE', '10s'),
    retryPeriod: config.get<string>('RETRY_PERIOD', '2s'),
    placement: store === undefined ? 'leader' : 'spread',
  };
}
