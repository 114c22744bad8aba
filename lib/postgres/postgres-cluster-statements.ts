import { MICROS, ON_TIME, SERVER_MS, expiry } from './postgres-statements.js';

/*
 * The SQL of the cluster calls on the members' table. As the lease statements, each writes with
 * an upsert, never a plain UPDATE or DELETE: PostgreSQL checks an upsert's ON CONFLICT condition
 * after it took the row's lock, so a statement that waited on a locked row checks its caller's
 * deadline (ON_TIME), the session and the expiry then, and writes nothing once too late.
 *
 * Locks are taken in one order: the members' rows before the loops' rows (each statement's loops
 * in one collation's order), so that no two cluster statements wait on each other in a circle.
 * Internal.
 */

/** A duration in ms from the server's timestamp `at` to now. */
export const ago = (at: string): string =>
  `(extract(epoch FROM clock_timestamp() - ${at}) * 1000)::float8`;
/** The server's timestamp `ms` milliseconds ago (NULL stays NULL: a run still in flight). */
export const before = (ms: string): string =>
  `clock_timestamp() - ${ms} * interval '1 millisecond'`;

/**
 * Adds `columns` ([name, type] each) to `table` where an earlier version of this library made
 * the table without them, as a step of its creation. ALTER TABLE takes the table's ACCESS
 * EXCLUSIVE lock even when every column is there already (IF NOT EXISTS is checked after it),
 * which waits for every statement on the table and holds up every later one: so the catalog is
 * read first, and a table that has them all is left alone. Replicas upgrading at once each take
 * the lock in turn; all but the first skip every column.
 */
export function addColumns(table: string, columns: readonly (readonly [string, string])[]): string {
  const names = columns.map(([name]) => `'${name}'`).join(', ');
  const adds = columns.map(([name, type]) => `ADD COLUMN IF NOT EXISTS ${name} ${type}`);
  return `DO $$ BEGIN
      IF (SELECT count(*) FROM pg_attribute WHERE attrelid = '${table}'::regclass
            AND attname IN (${names}) AND NOT attisdropped) < ${columns.length} THEN
        ALTER TABLE ${table} ${adds.join(', ')};
      END IF;
    END $$`;
}

/**
 * Writes run records, $n..$n+4 (loop, token, startedAgo, endedAgo, report; one per loop), each
 * only where `$2` still owns its loop with that token, once `gate` holds. A record replaces the
 * report too (a record without one drops it), and is timed when it is written, after the row's
 * lock. A loop's row that vanished since the statement began comes back released, with its
 * last token (tokens keep growing).
 */
export function recordRuns(loops: string, n: number, gate: string): string {
  const named = `SELECT * FROM unnest($${n}::text[], $${n + 1}::bigint[])`;
  const runs = `unnest($${n}::text[], $${n + 2}::float8[], $${n + 3}::float8[], $${n + 4}::text[])`;
  return `INSERT INTO ${loops} AS l
      (cluster, loop, owner, session, token, started_at, ended_at, report, recorded_at)
    SELECT $1, s.loop, NULL, NULL, s.token, ${before('r.started_ago')}, ${before('r.ended_ago')},
           r.report, clock_timestamp()
    FROM ${runs} AS r(loop, started_ago, ended_ago, report)
    JOIN ${loops} s ON s.cluster = $1 AND s.loop = r.loop
    WHERE s.owner = $2 AND ${gate} AND ${ON_TIME}
    ORDER BY s.loop COLLATE "C"
    ON CONFLICT (cluster, loop) DO UPDATE
      SET started_at = excluded.started_at, ended_at = excluded.ended_at,
          report = excluded.report, recorded_at = clock_timestamp()
      WHERE l.owner = $2 AND (l.loop, l.token) IN (${named}) AND ${ON_TIME}`;
}

/** The member statements of one store (quoted names). Internal. */
export interface MemberStatements {
  /**
   * $1 cluster, $2 identity, $3 session, $4 ttl, $5 digest, $6 loops (NULL: keep), $7..$11 runs,
   * $12 channel, $13 payload; answers `session` (NULL when not written), `stored_digest`,
   * `members` (JSON [identity, session, digest, age, renewedAgo] each) and `control_version`
   * (NULL: none).
   */
  readonly heartbeat: string;
  /** $1 cluster, $2 identity, $3 digest; answers `loops` (NULL: gone or another digest). */
  readonly memberLoops: string;
  /** $1 cluster, $2 identity, $3 session, $4..$8 runs, $9 channel, $10 payload; answers `done`. */
  readonly leave: string;
  /**
   * Create the sequence, the members' and the loops' tables if missing, and add the columns an
   * earlier version made them without.
   */
  readonly create: readonly string[];
}

/**
 * The member statements on `members` and `loops` with tokens from `sequence`; heartbeats read
 * the controls' version from `clusters` (see postgres-control-statements.ts). All quoted.
 */
export function memberStatements(
  members: string,
  loops: string,
  sequence: string,
  clusters: string,
): MemberStatements {
  // A new session is never below the server's clock in microseconds, the member's last session
  // in its row or the one it sent, so sessions grow even after the rows and the sequence were
  // lost. `alive` is read once, after the row's lock: the session, its start and its loop names
  // follow from one answer.
  const heartbeat = `WITH old AS (SELECT digest FROM ${members} WHERE cluster = $1 AND identity = $2),
    member AS (
      INSERT INTO ${members} AS m
        (cluster, identity, session, digest, loops, joined_at, renewed_at, expires_at)
      SELECT $1, $2, GREATEST(nextval('${sequence}'), ${MICROS}, COALESCE($3::bigint + 1, 0)),
             $5::text, COALESCE($6::text[], '{}'), clock_timestamp(), clock_timestamp(),
             ${expiry('$4')}
      WHERE ${ON_TIME}
      ON CONFLICT (cluster, identity) DO UPDATE SET
        (session, joined_at, loops) = (
          SELECT CASE WHEN k.alive THEN m.session
                      ELSE GREATEST(excluded.session, m.session + 1, ${MICROS}) END,
                 CASE WHEN k.alive THEN m.joined_at ELSE clock_timestamp() END,
                 COALESCE($6::text[], CASE WHEN k.alive THEN m.loops ELSE '{}' END)
          FROM (SELECT COALESCE(m.session = $3::bigint AND m.expires_at > clock_timestamp(), false)
                  AS alive) k),
        digest = excluded.digest, renewed_at = clock_timestamp(), expires_at = ${expiry('$4')}
      WHERE ${ON_TIME}
      RETURNING session, joined_at, renewed_at),
    recorded AS (${recordRuns(loops, 7, 'EXISTS (SELECT FROM member)')}),
    -- Members that are gone, a few at a time, so the table does not grow with every identity
    -- that ever joined; rows locked elsewhere are left for a later heartbeat, never waited on.
    expired AS (
      DELETE FROM ${members} d WHERE (d.cluster, d.identity) IN (
        SELECT cluster, identity FROM ${members}
        WHERE cluster = $1 AND identity <> $2 AND expires_at <= clock_timestamp()
        LIMIT 100 FOR UPDATE SKIP LOCKED)),
    announced AS (
      SELECT pg_notify($12, $13) FROM member
      WHERE session IS DISTINCT FROM $3::bigint OR $5::text IS DISTINCT FROM (SELECT digest FROM old))
    SELECT (SELECT session FROM member) AS session, (SELECT digest FROM old) AS stored_digest,
      (SELECT json_agg(json_build_array(identity, session, digest, GREATEST(age, 0),
         GREATEST(renewed, 0))) FROM (
         SELECT identity, session, digest, ${ago('joined_at')} AS age, ${ago('renewed_at')} AS renewed
         FROM ${members} WHERE cluster = $1 AND identity <> $2 AND expires_at > clock_timestamp()
         UNION ALL SELECT $2::text, session, $5::text, ${ago('joined_at')}, ${ago('renewed_at')}
         FROM member) x) AS members,
      (SELECT control_version::text FROM ${clusters} WHERE cluster = $1) AS control_version,
      (SELECT count(*) FROM announced) AS announced, ${SERVER_MS}, NOT ${ON_TIME} AS late`;
  // A member that left keeps its row until a heartbeat clears it, ended ('-infinity') and
  // without names; a row that vanished since the statement began is replaced by such a row
  // that never started ('-infinity' joined_at), which tells it apart.
  const leave = `WITH ended AS (
      INSERT INTO ${members} AS m
        (cluster, identity, session, digest, loops, joined_at, renewed_at, expires_at)
      SELECT $1, $2, $3::bigint, NULL, '{}', '-infinity', '-infinity', '-infinity'
      WHERE ${ON_TIME} AND EXISTS (SELECT FROM ${members} WHERE cluster = $1 AND identity = $2)
      ON CONFLICT (cluster, identity) DO UPDATE SET expires_at = '-infinity', digest = NULL, loops = '{}'
      WHERE m.session = $3::bigint AND m.expires_at > clock_timestamp() AND ${ON_TIME}
      RETURNING joined_at > '-infinity' AS done),
    recorded AS (${recordRuns(loops, 4, 'EXISTS (SELECT FROM ended WHERE done)')}),
    announced AS (SELECT pg_notify($9, $10) FROM ended WHERE done)
    SELECT EXISTS (SELECT FROM ended WHERE done) AS done, (SELECT count(*) FROM announced) AS announced,
      ${SERVER_MS}, NOT ${ON_TIME} AS late`;
  return {
    heartbeat,
    memberLoops: `SELECT (SELECT loops FROM ${members}
        WHERE cluster = $1 AND identity = $2 AND digest = $3 AND expires_at > clock_timestamp())
        AS loops, ${SERVER_MS}, NOT ${ON_TIME} AS late`,
    leave,
    create: [
      `CREATE SEQUENCE IF NOT EXISTS ${sequence}`,
      `CREATE TABLE IF NOT EXISTS ${members} (
         cluster text NOT NULL,
         identity text NOT NULL,
         session bigint NOT NULL,
         digest text,
         loops text[] NOT NULL,
         joined_at timestamptz NOT NULL,
         renewed_at timestamptz NOT NULL,
         expires_at timestamptz NOT NULL,
         PRIMARY KEY (cluster, identity))`,
      `CREATE TABLE IF NOT EXISTS ${loops} (
         cluster text NOT NULL,
         loop text NOT NULL,
         owner text,
         session bigint,
         token bigint NOT NULL,
         started_at timestamptz,
         ended_at timestamptz,
         report text,
         recorded_at timestamptz,
         PRIMARY KEY (cluster, loop))`,
      // The report is text, not jsonb: jsonb would rewrite it (key order, spaces, numbers).
      addColumns(loops, [
        ['report', 'text'],
        ['recorded_at', 'timestamptz'],
      ]),
    ],
  };
}
