/*
 * The SQL of PostgresLeaseStore. Each lease operation is one conditional upsert, which makes
 * PostgreSQL take the row's lock before it checks the term and computes the new expiry: a
 * statement that waited on a locked row writes an expiry counted from when it took the row, and
 * writes nothing once its caller's deadline (`$D`, see ON_TIME) has passed. Every answer is one
 * row with the server's clock (`server_ms`) and whether the call came too late (`late`).
 * Internal.
 */

/** The server's clock in microseconds since the epoch: the floor of every new token. Internal. */
export const MICROS = `(extract(epoch FROM clock_timestamp()) * 1000000)::bigint`;
/** The server's clock in ms, which every answer carries (see ServerDeadline). Internal. */
export const SERVER_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS server_ms`;
/**
 * Whether the statement is still within its caller's deadline, in server ms (`$D`, replaced by
 * the statement's last parameter; NULL for none). Checked where the row is written: in an
 * upsert's ON CONFLICT condition, after PostgreSQL took the row's lock. Internal.
 */
export const ON_TIME = `($D::float8 IS NULL OR clock_timestamp() <= to_timestamp($D::float8 / 1000))`;
/** The expiry of a lease written now, `ttl` the parameter holding its milliseconds. Internal. */
export const expiry = (ttl: string): string =>
  `clock_timestamp() + ${ttl} * interval '1 millisecond'`;

/** The statements of one lease table and its token sequence (quoted names). Internal. */
export interface LeaseStatements {
  /** $1 name, $2 identity, $3 ttl; answers `token` (null when not taken) and `holder`. */
  readonly acquire: string;
  /** $1 name, $2 holder, $3 token, $4 ttl; answers `done`. */
  readonly renew: string;
  /** $1 name, $2 holder, $3 token, $4 channel; answers `done`. */
  readonly release: string;
  /** $1 name; answers `holder`, from a snapshot of its own. */
  readonly holder: string;
  /** Create the sequence and the table if missing. */
  readonly create: readonly string[];
}

/** Answers `server_ms`. Internal. */
export const SERVER_TIME = `SELECT ${SERVER_MS}`;

/** The statements on `table` and `sequence` (both quoted). */
export function leaseStatements(table: string, sequence: string): LeaseStatements {
  return {
    // Take the row if it expired or is this identity's; either way report the holder. GREATEST
    // keeps tokens growing past a row written by hand, and past the server's clock in
    // microseconds, so they grow even after the table and its sequence were lost.
    acquire: `WITH taken AS (
         INSERT INTO ${table} AS l (name, holder, token, expires_at)
         SELECT $1, $2, GREATEST(nextval('${sequence}'), ${MICROS}), ${expiry('$3')}
         WHERE ${ON_TIME}
         ON CONFLICT (name) DO UPDATE
           SET holder = excluded.holder, token = GREATEST(excluded.token, l.token + 1, ${MICROS}),
               expires_at = ${expiry('$3')}
           WHERE (l.expires_at <= clock_timestamp() OR l.holder = excluded.holder) AND ${ON_TIME}
         RETURNING token, holder, expires_at)
       SELECT (SELECT token::text FROM taken WHERE expires_at > clock_timestamp()) AS token,
              COALESCE((SELECT holder FROM taken),
                       (SELECT holder FROM ${table} WHERE name = $1)) AS holder,
              ${SERVER_MS}, NOT ${ON_TIME} AS late`,
    // An upsert, not an UPDATE: PostgreSQL evaluates an UPDATE's condition and new values before
    // it waits for a locked row, and an upsert's after it took the lock, so a renewal that waited
    // on a lock checks the term, the deadline and the expiry then. A row that is gone is
    // replaced by an expired one (harmless: anyone may take it, with a greater token).
    renew: `WITH renewed AS (
         INSERT INTO ${table} AS l (name, holder, token, expires_at)
         SELECT $1, $2, $3, '-infinity' WHERE ${ON_TIME}
         ON CONFLICT (name) DO UPDATE SET expires_at = ${expiry('$4')}
           WHERE l.holder = $2 AND l.token = $3 AND l.expires_at > clock_timestamp() AND ${ON_TIME}
         RETURNING expires_at)
       SELECT EXISTS (SELECT 1 FROM renewed WHERE expires_at > '-infinity') AS done,
              ${SERVER_MS}, NOT ${ON_TIME} AS late`,
    // The holder's term with this token or a later one ends now (see LeaseStore.release); a
    // placeholder row for a lease that is gone stays at '-infinity', so it is told apart.
    release: `WITH released AS (
         INSERT INTO ${table} AS l (name, holder, token, expires_at)
         SELECT $1, $2, $3, '-infinity' WHERE ${ON_TIME}
         ON CONFLICT (name) DO UPDATE SET expires_at = clock_timestamp()
           WHERE l.holder = $2 AND l.token >= $3 AND l.expires_at > clock_timestamp() AND ${ON_TIME}
         RETURNING name, expires_at),
       announced AS (
         SELECT pg_notify($4, name) FROM released WHERE expires_at > '-infinity')
       SELECT EXISTS (SELECT 1 FROM announced) AS done, ${SERVER_MS}, NOT ${ON_TIME} AS late`,
    holder: `SELECT holder FROM ${table} WHERE name = $1`,
    create: [
      `CREATE SEQUENCE IF NOT EXISTS ${sequence}`,
      `CREATE TABLE IF NOT EXISTS ${table} (
         name text PRIMARY KEY,
         holder text NOT NULL,
         token bigint NOT NULL,
         expires_at timestamptz NOT NULL)`,
    ],
  };
}
