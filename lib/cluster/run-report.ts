/**
 * What the owner of a loop says of it with each run record (`RunRecord.report`): what every other
 * replica shows of a loop it does not run. Its times are durations around the moment the record
 * was sent, so that no two clocks have to agree. Internal.
 */
export interface RunReport {
  /** The owner's count of the loop's runs (since that process started). */
  readonly iterations: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  /** The outcome of the last settled run; absent before the first. */
  readonly outcome?: 'succeeded' | 'failed' | undefined;
  /** The message of the last failure (as the log shows it, cut to {@link MAX_ERROR} characters). */
  readonly error?: string | undefined;
  /** How long before the send the last successful run ended. */
  readonly succeededAgo?: number | undefined;
  /** How long after the send the next run is planned; absent when not planned. */
  readonly nextIn?: number | undefined;
  /** The cluster-wide triggers this owner took last (at most {@link MAX_TRIGGERS}), and how far each got. */
  readonly triggers?: readonly TriggerState[] | undefined;
  /**
   * Who took those triggers: the owner and its fencing token when the report was made. The
   * store's record names the loop's live claim, which may be a later owner's by the time a
   * caller reads it: a trigger still queued under an older token will never run.
   */
  readonly takenBy?: { readonly identity: string; readonly token: number } | undefined;
}

/** A trigger the owner took: waiting for the run in flight, running, settled, or not run. */
export interface TriggerState {
  readonly id: string;
  readonly state: 'queued' | 'running' | 'settled' | 'skipped';
}

/** How many taken triggers a report keeps: the callers of the older ones have had their answer. */
export const MAX_TRIGGERS = 8;

/** An error message longer than this is cut: a report goes with every heartbeat that carries it. */
export const MAX_ERROR = 500;

/** The report as the JSON text the store keeps. */
export function encodeReport(report: RunReport): string {
  return JSON.stringify(report);
}

/**
 * The report in `text`, or `undefined` when there is none or it is not one (written by another
 * version of the library, or damaged): a status page must show what it can, never throw.
 */
export function decodeReport(text: string | undefined): RunReport | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const r = value as Record<string, unknown>;
  const count = (x: unknown): number => (typeof x === 'number' && x >= 0 ? x : 0);
  const time = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);
  return {
    iterations: count(r.iterations),
    failures: count(r.failures),
    consecutiveFailures: count(r.consecutiveFailures),
    outcome: r.outcome === 'succeeded' || r.outcome === 'failed' ? r.outcome : undefined,
    error: typeof r.error === 'string' ? r.error : undefined,
    succeededAgo: time(r.succeededAgo),
    nextIn: time(r.nextIn),
    triggers: Array.isArray(r.triggers)
      ? r.triggers.map(triggerOf).filter((t) => t !== undefined)
      : undefined,
    takenBy: takerOf(r.takenBy),
  };
}

function takerOf(value: unknown): RunReport['takenBy'] {
  if (value === null || typeof value !== 'object') return undefined;
  const { identity, token } = value as Record<string, unknown>;
  if (typeof identity !== 'string' || typeof token !== 'number') return undefined;
  return { identity, token };
}

const TRIGGER_STATES: readonly string[] = ['queued', 'running', 'settled', 'skipped'];

function triggerOf(value: unknown): TriggerState | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { id, state } = value as Record<string, unknown>;
  if (typeof id !== 'string' || typeof state !== 'string' || !TRIGGER_STATES.includes(state)) {
    return undefined;
  }
  return { id, state: state as TriggerState['state'] };
}
