/** `nestjs-wait/postgres`: leases in PostgreSQL for leader election (needs the `pg` package). */
export { PostgresLeaseStore } from './postgres-lease-store.js';
export type { PostgresLeaseStoreOptions } from './postgres-options.js';
