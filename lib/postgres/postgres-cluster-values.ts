import { createHash } from 'node:crypto';
import type { LastRun, RunRecord } from '../cluster/cluster-store.js';

/*
 * How the cluster calls' values cross the wire to PostgreSQL and back. Internal.
 */

const SURROGATE = /[\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The text PostgreSQL keeps for `name`: pg sends UTF-8, in which a lone surrogate becomes U+FFFD.
 * Names are matched to the server's answers by it, so that two names the server cannot tell
 * apart are one loop there, and each caller's name is answered as the caller spelled it.
 */
export function asText(name: string): string {
  // Most names have no surrogate at all; the full pattern costs more than the whole call.
  return SURROGATE.test(name) ? name.replace(LONE_SURROGATE, '\ufffd') : name;
}

/**
 * An array parameter as PostgreSQL's array literal: for 10,000 elements, pg's own conversion
 * takes tens of milliseconds, this one a few.
 */
export function arrayLiteral(values: readonly (string | number | null)[]): string {
  const element = (value: string | number | null): string =>
    value === null
      ? 'NULL'
      : typeof value === 'number'
        ? String(value)
        : `"${value.replace(/[\\"]/g, '\\$&')}"`;
  return `{${values.map(element).join(',')}}`;
}

/** Each name's text once, in the order of first appearance. */
export function distinctTexts(names: Iterable<string>): string[] {
  return [...new Set(Array.from(names, asText))];
}

/**
 * A cluster's NOTIFY payload on the store's channel, beside the lease releases (whose payload is
 * the lease's name): it starts with a control character (U+001F) that no lease name of an app
 * would hold, and a lease named so would only hear harmless extra announcements. A name too long
 * for a payload (8000 bytes) is announced by its SHA-256.
 */
export function announcementOf(cluster: string): string {
  const text = asText(cluster);
  if (Buffer.byteLength(text) <= 7000) return `\u001fcluster:${text}`;
  return `\u001fcluster#${createHash('sha256').update(text).digest('hex')}`;
}

/**
 * The run-record parameters (array literals): loop, token, startedAgo, endedAgo (NULL: in
 * flight), report (NULL: none), one record per loop (a loop's last one), plus `also` loops
 * without one (their other columns NULL).
 */
export function runColumns(
  runs: readonly RunRecord[],
  also: readonly string[] = [],
): [string, string, string, string, string] {
  const last = new Map<string, RunRecord>();
  for (const run of runs) last.set(asText(run.loop), run);
  const loops = distinctTexts([...last.keys(), ...also]);
  const column = (value: (run: RunRecord) => string | number | undefined): string =>
    arrayLiteral(loops.map((loop) => (last.has(loop) ? (value(last.get(loop)!) ?? null) : null)));
  return [
    arrayLiteral(loops),
    column((run) => run.token),
    column((run) => run.startedAgo),
    column((run) => run.endedAgo),
    column((run) => run.report),
  ];
}

/** A last run from its durations (a NULL start: none recorded). */
export function lastRunOf(startedAgo: number | null, endedAgo: number | null): LastRun | undefined {
  if (startedAgo === null) return undefined;
  return { startedAgo, endedAgo: endedAgo ?? undefined };
}
