export { LeaderElector } from './leader-elector.js';
export type { Leadership } from './leadership.js';
export type { ElectorLogger, LeaderElectorSettings } from './elector-settings.js';
export type { LeaderElectionOptions } from './leader-election-options.js';
export type {
  AcquireResult,
  Lease,
  LeaseCallOptions,
  LeaseStore,
  LeaseWatch,
} from './lease-store.js';
export { InMemoryLeaseStore } from './memory-lease-store.js';
export { LeaseStoreTimeoutError } from './store-call.js';
