import { show } from '../wait/internal.js';

/**
 * Every message of leader election (errors and logs), in one place. Internal: not exported from
 * the package.
 */
export const messages = {
  missingPeer: (user: string, name: string) =>
    `${user} needs the "${name}" package: npm install ${name}`,
  storeOptions: (store: string) => `new ${store}(): options must be an object`,
  redisUrl: (value: unknown) =>
    `new RedisLeaseStore(): url must be a redis:// or rediss:// URL; got ${JSON.stringify(value)}`,
  keyPrefix: (value: unknown) =>
    `new RedisLeaseStore(): keyPrefix must be a string; got ${show(value)}`,
  postgresUrl: (value: unknown) =>
    `new PostgresLeaseStore(): connectionString must be a postgres:// or postgresql:// URL (like "postgres://user:password@host:5432/database"); got ${JSON.stringify(value)}`,
  table: (value: unknown) =>
    `new PostgresLeaseStore(): table must be an SQL name like "leases" or "app.leases" (letters, digits, _; at most 41 each); got ${JSON.stringify(value)}`,
  badCounter: (text: string | undefined) =>
    `the lease's token counter holds ${JSON.stringify(text)}, not a token`,
  controlState: (value: unknown) =>
    `controlLoop(): change.state must be 'paused', 'started' or undefined; got ${show(value)}`,
  controlOverrides: (text: string) =>
    `controlLoop(): change.overrides must be the JSON text of an object; got ${JSON.stringify(text)}`,
  noClient: 'the pool gave no client and no error',
  withCause: (cause: string, error: string) => `${cause} (${error})`,
  releaseOnShutdown: (where: string, value: unknown) =>
    `${where}: leaderElection.releaseOnShutdown must be true or false; got ${show(value)}`,
  identity: (where: string, value: unknown) =>
    `${where}: leaderElection.identity must be a non-empty string; got ${show(value)}`,
  name: (where: string, value: unknown) =>
    `${where}: leaderElection.name (the lease's name, shared by every replica) must be a non-empty string; got ${show(value)}`,
  store: (where: string, value: unknown) =>
    `${where}: leaderElection.store must have acquire(), renew() and release() methods (InMemoryLeaseStore, RedisLeaseStore, PostgresLeaseStore); got ${show(value)}`,
  timings: (where: string, lease: number, renew: number, retry: number) =>
    `${where}: leaderElection needs leaseDuration > renewDeadline > retryPeriod * 1.2 (as client-go); got leaseDuration ${lease} ms, renewDeadline ${renew} ms, retryPeriod ${retry} ms`,
  positive: (where: string, what: string, value: number) =>
    `${where}: leaderElection.${what} must be more than 0; got ${value} ms`,
  leaderOnlyWithout: (where: string) =>
    `${where}: leaderOnly needs WaitModule's leaderElection option; without it every replica would run the loop`,
  timeout: (operation: string, ms: number) =>
    `the lease store did not answer ${operation} within ${ms} ms`,
  late: (operation: string) =>
    `the lease store refused ${operation}: it reached the server after its caller's deadline`,
  listenLost: 'the LISTEN connection was lost while it started',
  started: (name: string, identity: string) =>
    `Leader election for ${show(name)} started as ${show(identity)}`,
  leading: (name: string, token: number) =>
    `Leading ${show(name)} (fencing token ${token}); leader-only loops start`,
  lost: (name: string, reason: string) =>
    `Lost the lease ${show(name)} (${reason}); leader-only loops stand by`,
  stepDown: (name: string) => `Stopped leading ${show(name)}: shutting down`,
  newLeader: (name: string, holder: string) => `${show(name)} is led by ${show(holder)}`,
  untrusted: (name: string) =>
    `The lease ${show(name)} holds a value no elector wrote; not taking it over until it expires`,
  storeFailed: (name: string, operation: string, error: string, retry: number) =>
    `Lease store failed to ${operation} ${show(name)}: ${error}; retrying every ${retry} ms`,
  storeBack: (name: string, failures: number) =>
    `Lease store answers again for ${show(name)} after ${failures === 1 ? '1 failed call' : `${failures} failed calls`}`,
  released: (name: string) => `Released the lease ${show(name)}`,
  releaseFailed: (name: string, error: string) =>
    `Could not release the lease ${show(name)} (${error}); it expires by itself`,
  notReleased: (name: string, late: readonly string[]) =>
    `Not releasing the lease ${show(name)}: ${late.join(', ')} still running; it expires by itself`,
  watchFailed: (name: string, error: string) =>
    `Cannot watch ${show(name)} for releases (${error}); takeover falls back to retries`,
} as const;

/** A short, single-line description of a thrown value for logs. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return show(error);
}
