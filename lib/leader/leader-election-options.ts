import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { toMillis, type Duration, checkKeys, checkObject } from '../wait/internal.js';
import type { LeaseStore } from './lease-store.js';
import { messages } from './leader-messages.js';

/** Leader election: which lease the replicas compete for, where it lives, and its timings. */
export interface LeaderElectionOptions {
  /** Where the lease lives. Default: an `InMemoryLeaseStore` (this process only). */
  store?: LeaseStore;
  /** The lease's name: every replica of one app uses the same. Required. */
  name: string;
  /** This replica's name in the lease; must differ between replicas. Default `hostname-pid-random`. */
  identity?: string;
  /** How long a lease lasts without renewal, by the store's clock. Default `'15s'`. */
  leaseDuration?: Duration;
  /** A leader that could not renew for this long stops its leader-only loops. Default `'10s'`. */
  renewDeadline?: Duration;
  /** Time between renewals, and between attempts to acquire (plus up to 1.2x jitter). Default `'2s'`. */
  retryPeriod?: Duration;
  /** Release the lease on shutdown (announced, so a follower takes over at once). Default true. */
  releaseOnShutdown?: boolean;
}

/** Checked options in milliseconds. Internal. */
export interface CheckedLeaderElectionOptions {
  readonly store: LeaseStore | undefined;
  readonly name: string;
  readonly identity: string;
  readonly leaseDuration: number;
  readonly renewDeadline: number;
  readonly retryPeriod: number;
  readonly releaseOnShutdown: boolean;
}

const KEYS = [
  'store',
  'name',
  'identity',
  'leaseDuration',
  'renewDeadline',
  'retryPeriod',
  'releaseOnShutdown',
] as const;

/** Client-go's `JitterFactor` for the acquire retries. */
export const ACQUIRE_JITTER = 1.2;

/** What {@link checkLeaderElection} returned: passed on, they are not checked again. */
const checked = new WeakSet<object>();

/**
 * Checks the options with client-go's rules; throws naming `where` and the value. Options it
 * returned come back as they are: `WaitModule` checks them where they enter, and the elector it
 * makes takes them as checked.
 */
export function checkLeaderElection(
  options: LeaderElectionOptions | CheckedLeaderElectionOptions,
  where: string,
): CheckedLeaderElectionOptions {
  if (checked.has(options)) return options as CheckedLeaderElectionOptions;
  checkObject(options, where, 'leaderElection');
  checkKeys(options, KEYS, `${where} leaderElection`);
  const { store, name, identity, releaseOnShutdown } = options;
  if (
    store !== undefined &&
    (typeof store !== 'object' ||
      store === null ||
      typeof store.acquire !== 'function' ||
      typeof store.renew !== 'function' ||
      typeof store.release !== 'function')
  ) {
    throw new TypeError(messages.store(where, store));
  }
  if (typeof name !== 'string' || name.length === 0)
    throw new TypeError(messages.name(where, name));
  if (identity !== undefined && (typeof identity !== 'string' || identity.length === 0)) {
    throw new TypeError(messages.identity(where, identity));
  }
  if (releaseOnShutdown !== undefined && typeof releaseOnShutdown !== 'boolean') {
    throw new TypeError(messages.releaseOnShutdown(where, releaseOnShutdown));
  }
  const leaseDuration = toMillis(
    options.leaseDuration ?? '15s',
    where,
    'leaderElection.leaseDuration',
  );
  const renewDeadline = toMillis(
    options.renewDeadline ?? '10s',
    where,
    'leaderElection.renewDeadline',
  );
  const retryPeriod = toMillis(options.retryPeriod ?? '2s', where, 'leaderElection.retryPeriod');
  for (const [what, value] of [
    ['leaseDuration', leaseDuration],
    ['renewDeadline', renewDeadline],
    ['retryPeriod', retryPeriod],
  ] as const) {
    if (value <= 0) throw new RangeError(messages.positive(where, what, value));
  }
  if (!(leaseDuration > renewDeadline && renewDeadline > retryPeriod * ACQUIRE_JITTER)) {
    throw new RangeError(messages.timings(where, leaseDuration, renewDeadline, retryPeriod));
  }
  const result: CheckedLeaderElectionOptions = {
    store,
    name,
    identity: identity ?? defaultIdentity(),
    leaseDuration,
    renewDeadline,
    retryPeriod,
    releaseOnShutdown: releaseOnShutdown ?? true,
  };
  checked.add(result);
  return result;
}

/** Unique per process even when replicas share a host name (containers restarted in place). */
function defaultIdentity(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
