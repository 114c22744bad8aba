import { addColumns, ago } from './postgres-cluster-statements.js';
import { MICROS, ON_TIME, SERVER_MS } from './postgres-statements.js';

/*
 * The SQL of the loop controls: one row per controlled loop in `<table>_controls`, and the
 * cluster's controls' version in a row of its own in `<table>_clusters`. The version has a table
 * of its own rather than a column of a member's or a loop's row: it belongs to no loop (a change
 * of any loop bumps it, and it must outlive every loop's row), and only control changes lock its
 * row, so the heartbeats that read it (from their snapshot, without a lock) never wait on it nor
 * make a change wait.
 *
 * A change first locks the cluster's row (when there is one), then writes the loop's row, then
 * the cluster's: the same order in every change, so two changes never wait on each other in a
 * circle, and one cluster's changes follow each other (they are rare). The caller's deadline
 * (ON_TIME) is checked after both waits, the cluster's lock and the loop's (held, if at all, by
 * a transaction of someone else's): a change too late writes nothing. Once the loop's row is
 * written the version is always bumped, without a check of its own: a change without a new
 * version would go unseen by the replicas. That last write waits only when the cluster's row
 * was missing and another change made it meanwhile, one short statement. Internal.
 */

/** The control statements of one store (quoted names). Internal. */
export interface ControlStatements {
  /**
   * $1 cluster, $2 loop, $3 state (NULL: unchanged), $4 by, $5 overrides (JSON text, NULL:
   * unchanged), $6 trigger (NULL: unchanged), $7 channel, $8 payload; answers `version` (NULL
   * when not written).
   */
  readonly controlLoop: string;
  /**
   * $1 cluster; answers `version` (NULL: none) and `loops` (JSON [loop, state, by, ago,
   * overrides, trigger, triggerAgo] each, overrides as JSON text), from one snapshot.
   */
  readonly controls: string;
  /** Create both tables if missing, and add the columns an earlier version made them without. */
  readonly create: readonly string[];
}

/** The control statements on `controls` and `clusters` (quoted). */
export function controlStatements(controls: string, clusters: string): ControlStatements {
  // `jsonb ||` merges the top-level fields, the right one winning. The ON CONFLICT branch reads
  // the row's latest version after its lock, so two changes at once both keep their fields.
  // A new version is never below the server's clock in microseconds, so versions keep growing
  // after the row (or the table) was lost, as sessions and tokens do. The deadline is checked on
  // the row `queue` yields, so after its lock: a condition on a materialized CTE's scan is
  // evaluated on its rows, never pushed inside it. A trigger's time is the one it was written
  // at, after the lock, like a state's.
  const controlLoop = `WITH queue AS MATERIALIZED (
      SELECT count(*) AS n FROM (SELECT FROM ${clusters} WHERE cluster = $1 FOR UPDATE) r),
    changed AS (
      INSERT INTO ${controls} AS k
        (cluster, loop, state, set_by, set_at, overrides, trigger_id, triggered_at)
      SELECT $1, $2, $3::text, CASE WHEN $3::text IS NULL THEN NULL ELSE $4::text END,
             CASE WHEN $3::text IS NULL THEN NULL ELSE clock_timestamp() END, $5::jsonb,
             $6::text, CASE WHEN $6::text IS NULL THEN NULL ELSE clock_timestamp() END
      FROM queue WHERE ${ON_TIME}
      ON CONFLICT (cluster, loop) DO UPDATE SET
        state = COALESCE(excluded.state, k.state),
        set_by = CASE WHEN excluded.state IS NULL THEN k.set_by ELSE excluded.set_by END,
        set_at = CASE WHEN excluded.state IS NULL THEN k.set_at ELSE clock_timestamp() END,
        overrides = CASE WHEN excluded.overrides IS NULL THEN k.overrides
                         ELSE COALESCE(k.overrides, '{}') || excluded.overrides END,
        trigger_id = COALESCE(excluded.trigger_id, k.trigger_id),
        triggered_at = CASE WHEN excluded.trigger_id IS NULL THEN k.triggered_at
                            ELSE clock_timestamp() END
      WHERE ${ON_TIME}
      RETURNING loop),
    versioned AS (
      INSERT INTO ${clusters} AS c (cluster, control_version)
      SELECT $1, ${MICROS} WHERE EXISTS (SELECT FROM changed)
      ON CONFLICT (cluster) DO UPDATE
        SET control_version = GREATEST(c.control_version + 1, ${MICROS})
      RETURNING control_version),
    announced AS (SELECT pg_notify($7, $8) FROM versioned)
    SELECT (SELECT control_version::text FROM versioned) AS version,
      (SELECT count(*) FROM announced) AS announced, ${SERVER_MS}, NOT ${ON_TIME} AS late`;
  // One statement, so one snapshot: the version answered is the one of the loops answered.
  // (GREATEST would turn a NULL into 0, hence the CASEs: a loop without a state has no `ago`,
  // one never triggered no `triggerAgo`.)
  const controlsOf = `SELECT
      (SELECT control_version::text FROM ${clusters} WHERE cluster = $1) AS version,
      (SELECT json_agg(json_build_array(loop, state, set_by,
         CASE WHEN set_at IS NOT NULL THEN GREATEST(${ago('set_at')}, 0) END, overrides::text,
         trigger_id, CASE WHEN triggered_at IS NOT NULL THEN GREATEST(${ago('triggered_at')}, 0) END))
       FROM ${controls} WHERE cluster = $1) AS loops,
      ${SERVER_MS}, NOT ${ON_TIME} AS late`;
  return {
    controlLoop,
    controls: controlsOf,
    create: [
      `CREATE TABLE IF NOT EXISTS ${controls} (
         cluster text NOT NULL,
         loop text NOT NULL,
         state text CHECK (state IN ('paused', 'started')),
         set_by text,
         set_at timestamptz,
         overrides jsonb,
         trigger_id text,
         triggered_at timestamptz,
         PRIMARY KEY (cluster, loop))`,
      addColumns(controls, [
        ['trigger_id', 'text'],
        ['triggered_at', 'timestamptz'],
      ]),
      `CREATE TABLE IF NOT EXISTS ${clusters} (
         cluster text PRIMARY KEY,
         control_version bigint NOT NULL)`,
    ],
  };
}
