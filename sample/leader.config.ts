import type { ConfigService } from '@nestjs/config';
import type { LeaderElectionOptions } from 'nestjs-wait';
import { PostgresLeaseStore } from 'nestjs-wait/postgres';
import { RedisLeaseStore } from 'nestjs-wait/redis';

/**
 * Leader election for the sample, from the environment: the garbage collectors run on one
 * replica at a time. `REDIS_URL` puts the lease in Redis, `DATABASE_URL` in PostgreSQL; with
 * neither, the lease lives in this process's memory and the one process leads. `LEASE_NAME`
 * (default `'sample-gc'`) is shared by the replicas; `POD_NAME` (default host-pid-random) names
 * this one, as a Kubernetes Deployment would through the downward API.
 */
export function leaderElection(config: ConfigService): LeaderElectionOptions {
  const redisUrl = config.get<string>('REDIS_URL');
  const databaseUrl = config.get<string>('DATABASE_URL');
  const store = redisUrl
    ? new RedisLeaseStore({ url: redisUrl })
    : databaseUrl
      ? new PostgresLeaseStore({ connectionString: databaseUrl })
      : undefined;
  return {
    store,
    name: config.get<string>('LEASE_NAME', 'sample-gc'),
    identity: config.get<string>('POD_NAME') || undefined,
    leaseDuration: config.get<string>('LEASE_DURATION', '15s'),
    renewDeadline: config.get<string>('RENEW_DEADLINE', '10s'),
    retryPeriod: config.get<string>('RETRY_PERIOD', '2s'),
  };
}
