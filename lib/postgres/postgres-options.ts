import type { Pool, PoolConfig } from 'pg';
import { messages } from '../leader/leader-messages.js';

/** How `PostgresLeaseStore` reaches PostgreSQL; every field has a default. */
export interface PostgresLeaseStoreOptions {
  /**
   * A `pg` pool to use; the store never ends it. Release announcements hold one of its
   * connections for `LISTEN`. Default: a pool of its own from `connectionString` or `config`.
   */
  pool?: Pool;
  /** Where to connect when no `pool` is given. Default: `pg`'s (the `PG*` environment variables). */
  connectionString?: string;
  /**
   * Extra `pg` pool settings for the store's own pool. Defaults: `connectionTimeoutMillis` 5000,
   * `query_timeout` 10000 (so that connections killed mid-start or statements stuck on a lock
   * free their pool slot).
   */
  config?: PoolConfig;
  /**
   * The lease table (optionally `schema.table`), created if missing with a token sequence beside
   * it, `<table>_token_seq`. Default `'nestjs_wait_leases'`. The cluster calls use four more
   * beside it, `<table>_members`, `<table>_loops`, `<table>_controls` and `<table>_clusters`,
   * made on the first of them.
   */
  table?: string;
}

/** The SQL names a store's options give, quoted where they are identifiers. Internal. */
export interface PostgresNames {
  /** The lease table, quoted. */
  readonly table: string;
  /** The token sequence beside it, quoted. */
  readonly sequence: string;
  /** The NOTIFY channel of releases and cluster announcements, unquoted. */
  readonly channel: string;
  /** The cluster members' table, quoted. */
  readonly members: string;
  /** The cluster loops' claims table, quoted. */
  readonly loops: string;
  /** The loops' controls table, quoted. */
  readonly controls: string;
  /** The clusters' table (one row per cluster: its controls' version), quoted. */
  readonly clusters: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,40}(\.[A-Za-z_][A-Za-z0-9_]{0,40})?$/;

/**
 * Checks the options of `new PostgresLeaseStore()`, throwing a `TypeError` that names the value;
 * returns the SQL names they give. Internal.
 */
export function checkPostgresOptions(options: PostgresLeaseStoreOptions): PostgresNames {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(messages.storeOptions('PostgresLeaseStore'));
  }
  const { connectionString } = options;
  if (
    connectionString !== undefined &&
    (typeof connectionString !== 'string' ||
      !/^(postgres(ql)?|socket):\/\//.test(connectionString) ||
      !URL.canParse(connectionString))
  ) {
    throw new TypeError(messages.postgresUrl(connectionString));
  }
  const table = options.table ?? 'nestjs_wait_leases';
  if (typeof table !== 'string' || !IDENTIFIER.test(table)) {
    throw new TypeError(messages.table(table));
  }
  const parts = table.split('.');
  const last = parts.pop()!;
  const quote = (name: string): string => `"${name}"`;
  const beside = (suffix: string): string => [...parts, `${last}${suffix}`].map(quote).join('.');
  return {
    table: beside(''),
    sequence: beside('_token_seq'),
    channel: `${table}_released`,
    members: beside('_members'),
    loops: beside('_loops'),
    controls: beside('_controls'),
    clusters: beside('_clusters'),
  };
}
