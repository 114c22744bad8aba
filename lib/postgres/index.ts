/** `nestjs-wait/postgres`: leases in PostgreSQL for leader election (needs the `pg` package). */
export { PostgresLeaseStore, type PostgresLeaseStoreOptions } from './postgres-lease-store.js';
