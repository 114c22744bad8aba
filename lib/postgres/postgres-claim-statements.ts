import { ago, before } from './postgres-cluster-statements.js';
import { MICROS, ON_TIME, SERVER_MS } from './postgres-statements.js';

/*
 * The SQL of the cluster calls on the loops' table: claims, releases and the read of each loop's
 * claim and record (loopRuns). Claims and releases write with an
 * upsert, whose ON CONFLICT condition PostgreSQL evaluates after it took the row's lock (see
 * postgres-cluster-statements.ts), loops in one collation's order.
 *
 * A claim decides from the statement's snapshot, which READ COMMITTED takes when the statement
 * begins, and makes sure the snapshot is not stale where it matters:
 *
 * - An owner's liveness is read from its member row locked FOR SHARE, which gives the row's
 *   latest committed version (a renewal that committed since the snapshot counts) and holds off
 *   a renewal until the claim commits. All these locks come before any loop's, so a heartbeat
 *   (its member row, then its loops' rows) never waits on a claim that waits on it.
 * - A loop's owner is taken only if the loop's latest version is still the snapshot's (same
 *   owner, session and token): a member that joined since the snapshot began, so that its row
 *   is not in it, and claimed the loop meanwhile keeps it. The losing claimant reads the winner
 *   from the row it then rewrites unchanged, the only write a refusal makes.
 *
 * A dead session stays dead (a heartbeat renews only a live one), so a verdict "not alive" made
 * before the loop's lock still holds after it. Internal.
 */

/** The claim, release and loop-runs statements of one store (quoted names). Internal. */
export interface ClaimStatements {
  /**
   * $1 cluster, $2 identity, $3 session, $4 loops (distinct); answers `plan` (JSON, one
   * [verdict, owner, token, startedAgo, endedAgo] per loop, in order) and `written` (JSON
   * [loop, claimed, owner, token, startedAgo, endedAgo] per row written).
   */
  readonly claim: string;
  /**
   * $1 cluster, $2 identity, $3 loops (distinct: those released or with a run), $4 startedAgo,
   * $5 endedAgo, $6 run token, $7 report (each NULL without a run; a report NULL too without
   * one), $8 and $9 the (loop, token) pairs to release, $10 channel, $11 payload; answers
   * `released` (JSON loop names) and `written`.
   */
  readonly release: string;
  /**
   * $1 cluster, $2 loops (distinct; NULL: every loop of the cluster); answers `runs` (JSON
   * [loop, owner, token, startedAgo, endedAgo, report, recordedAgo] per loop that has a row, in
   * one collation's order; owner and token NULL without a live session).
   */
  readonly loopRuns: string;
}

/** The claim and release statements on `members` and `loops`, tokens from `sequence`. */
export function claimStatements(members: string, loops: string, sequence: string): ClaimStatements {
  const claim = `WITH me AS (
      SELECT expires_at FROM ${members} WHERE cluster = $1 AND identity = $2 AND session = $3::bigint),
    live AS MATERIALIZED (
      SELECT COALESCE(jsonb_object_agg(identity, session)
               FILTER (WHERE expires_at > clock_timestamp()), '{}') AS sessions
      FROM (SELECT identity, session, expires_at FROM ${members} o
            WHERE o.cluster = $1 AND o.identity IN (
              SELECT s.owner FROM unnest($4::text[]) AS u(loop)
              JOIN ${loops} s ON s.cluster = $1 AND s.loop = u.loop)
            ORDER BY o.identity COLLATE "C" FOR SHARE OF o) owners),
    plan AS MATERIALIZED (
      SELECT u.ord, u.loop, s.owner, s.token, s.started_at, s.ended_at,
        CASE WHEN NOT COALESCE((SELECT expires_at FROM me) > clock_timestamp(), false) THEN 'dead'
             WHEN s.owner IS NULL THEN 'free'
             WHEN s.owner = $2 AND s.session = $3::bigint THEN 'mine'
             WHEN (v.sessions ->> s.owner)::bigint = s.session THEN 'held'
             ELSE 'free' END AS verdict
      FROM unnest($4::text[]) WITH ORDINALITY AS u(loop, ord)
      LEFT JOIN ${loops} s ON s.cluster = $1 AND s.loop = u.loop
      CROSS JOIN live v),
    claimed AS (
      INSERT INTO ${loops} AS l (cluster, loop, owner, session, token)
      SELECT $1, p.loop, $2, $3::bigint, GREATEST(nextval('${sequence}'), ${MICROS})
      FROM plan p WHERE p.verdict = 'free' AND ${ON_TIME}
      ORDER BY p.loop COLLATE "C"
      ON CONFLICT (cluster, loop) DO UPDATE SET (owner, session, token) = (
        SELECT CASE WHEN k.take THEN excluded.owner ELSE l.owner END,
               CASE WHEN k.take THEN excluded.session ELSE l.session END,
               CASE WHEN k.take AND NOT k.ours
                    THEN GREATEST(excluded.token, l.token + 1, ${MICROS}) ELSE l.token END
        FROM (SELECT o.ours, o.ours OR l.owner IS NULL OR EXISTS (
                SELECT FROM ${loops} s WHERE s.cluster = l.cluster AND s.loop = l.loop
                  AND s.owner = l.owner AND s.session = l.session AND s.token = l.token) AS take
              FROM (SELECT COALESCE(l.owner = excluded.owner AND l.session = excluded.session,
                                    false) AS ours) o) k)
      WHERE (SELECT expires_at FROM me) > clock_timestamp() AND ${ON_TIME}
      RETURNING loop, owner, session, token, started_at, ended_at)
    SELECT
      (SELECT json_agg(json_build_array(verdict, owner, token, ${ago('started_at')},
         ${ago('ended_at')}) ORDER BY ord) FROM plan) AS plan,
      (SELECT json_agg(json_build_array(loop, owner = $2 AND session = $3::bigint, owner, token,
         ${ago('started_at')}, ${ago('ended_at')})) FROM claimed) AS written,
      ${SERVER_MS}, NOT ${ON_TIME} AS late`;
  // One upsert writes the runs and releases (a row is written once per statement): the SET reads
  // the row before either, so a run is recorded first and the loop then released. A run replaces
  // the report and its time as recordRuns does (see postgres-cluster-statements.ts).
  const ran = `(l.loop, l.token) IN (
      SELECT * FROM unnest($3::text[], $6::bigint[]) AS r(loop, token) WHERE token IS NOT NULL)`;
  const freed = `(l.loop, l.token) IN (SELECT * FROM unnest($8::text[], $9::bigint[]))`;
  const release = `WITH changed AS (
      INSERT INTO ${loops} AS l
        (cluster, loop, owner, session, token, started_at, ended_at, report, recorded_at)
      SELECT $1, s.loop, NULL, NULL, s.token, ${before('r.started_ago')}, ${before('r.ended_ago')},
             r.report, CASE WHEN r.started_ago IS NOT NULL THEN clock_timestamp() END
      FROM unnest($3::text[], $4::float8[], $5::float8[], $7::text[])
        AS r(loop, started_ago, ended_ago, report)
      JOIN ${loops} s ON s.cluster = $1 AND s.loop = r.loop
      WHERE s.owner = $2 AND ${ON_TIME}
      ORDER BY s.loop COLLATE "C"
      ON CONFLICT (cluster, loop) DO UPDATE
        SET (started_at, ended_at, report, recorded_at, owner) = (
        SELECT CASE WHEN k.ran THEN excluded.started_at ELSE l.started_at END,
               CASE WHEN k.ran THEN excluded.ended_at ELSE l.ended_at END,
               CASE WHEN k.ran THEN excluded.report ELSE l.report END,
               CASE WHEN k.ran THEN clock_timestamp() ELSE l.recorded_at END,
               CASE WHEN k.freed THEN NULL ELSE l.owner END
        FROM (SELECT COALESCE(${ran}, false) AS ran, COALESCE(${freed}, false) AS freed) k)
      WHERE l.owner = $2 AND (${ran} OR ${freed}) AND ${ON_TIME}
      RETURNING loop, owner IS NULL AS released),
    announced AS (SELECT pg_notify($10, $11) WHERE EXISTS (SELECT FROM changed WHERE released))
    SELECT (SELECT json_agg(loop) FROM changed WHERE released) AS released,
      (SELECT count(*) FROM changed) AS written, (SELECT count(*) FROM announced) AS announced,
      ${SERVER_MS}, NOT ${ON_TIME} AS late`;
  return { claim, release, loopRuns: loopRunsOf(members, loops) };
}

/**
 * The loop-runs read: one statement from one snapshot, without locks (nothing is written, and a
 * read must never hold up a heartbeat or a claim). An owner counts while the session its claim
 * names is alive by the server's clock, as a claim decides it, so a crashed owner shows none.
 */
function loopRunsOf(members: string, loops: string): string {
  // One text for both cases (the loops asked for, or all): pg sends it unnamed, so PostgreSQL
  // plans it with its values bound, folds the parameter's IS NULL away and scans the primary
  // key either way (on (cluster, loop) for a list, on cluster for all).
  return `SELECT (SELECT json_agg(json_build_array(s.loop, m.identity,
        CASE WHEN m.identity IS NOT NULL THEN s.token END, ${ago('s.started_at')},
        ${ago('s.ended_at')}, s.report,
        CASE WHEN s.recorded_at IS NOT NULL THEN GREATEST(${ago('s.recorded_at')}, 0) END)
        ORDER BY s.loop COLLATE "C")
      FROM ${loops} s
      LEFT JOIN ${members} m ON m.cluster = s.cluster AND m.identity = s.owner
        AND m.session = s.session AND m.expires_at > clock_timestamp()
      WHERE s.cluster = $1 AND ($2::text[] IS NULL OR s.loop = ANY ($2::text[]))) AS runs,
    ${SERVER_MS}, NOT ${ON_TIME} AS late`;
}
