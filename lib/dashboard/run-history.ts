import type { LoopEvent, LoopStatus } from '../polling/polling.interfaces.js';

/** One run on a loop's timeline: its start and end (clock times, ms) and how it went. */
export interface DashboardRunSpan {
  name: string;
  start: number;
  /** Absent while it runs (or when its end was never seen). */
  end?: number;
  outcome: 'running' | 'succeeded' | 'failed';
}

/** How many runs each loop's timeline keeps: enough to see a cadence, small enough to resend. */
export const TIMELINE_RUNS = 30;

/**
 * @internal The recent runs of each loop, for the dashboard's timelines. A loop this replica runs
 * is followed run by run from `events$`. A loop another replica runs is seen only through the
 * cluster's view (its owner's last run, read at each refresh), so a run that starts and ends
 * between two reads is missed: the timeline says what was seen, never invents a run.
 */
export class RunHistory {
  readonly #runs = new Map<string, DashboardRunSpan[]>();

  constructor(private readonly keep = TIMELINE_RUNS) {}

  /** A run event of a loop this replica runs; answers the span it made or changed, if any. */
  event(event: LoopEvent): DashboardRunSpan | undefined {
    const at = event.at.getTime();
    if (event.type === 'started') {
      return this.#push({ name: event.name, start: at, outcome: 'running' });
    }
    if (event.type !== 'succeeded' && event.type !== 'failed') return undefined;
    const list = this.#runs.get(event.name);
    const last = list?.at(-1);
    if (list === undefined || last === undefined || last.outcome !== 'running') return undefined;
    return RunHistory.#end(list, at, event.type);
  }

  /**
   * A loop's status as the cluster's view read it (another replica runs it): answers the span
   * it made or changed, if any. Two reads of one run may differ by a few ms (the store answers
   * in durations, counted back from its answer), so a start within `period / 2` (at most 250 ms)
   * of the last one seen is the same run.
   */
  observed(status: Omit<LoopStatus, 'lastError'>): DashboardRunSpan | undefined {
    const start = status.lastStartedAt?.getTime();
    if (start === undefined) return undefined;
    const endedAt = status.lastEndedAt?.getTime();
    const end = endedAt !== undefined && endedAt >= start ? endedAt : undefined;
    const outcome = end === undefined ? 'running' : (status.lastOutcome ?? 'succeeded');
    const span: DashboardRunSpan =
      end === undefined
        ? { name: status.name, start, outcome }
        : { name: status.name, start, end, outcome };
    const list = this.#runs.get(status.name);
    const last = list?.at(-1);
    const near = Math.min(250, status.period / 2);
    if (list === undefined || last === undefined || Math.abs(last.start - start) >= near) {
      // An older run than the last one seen (a stale read) is not added.
      if (last !== undefined && start < last.start) return undefined;
      return this.#push(span);
    }
    if (last.outcome !== 'running' || end === undefined) return undefined;
    return RunHistory.#end(list, end, status.lastOutcome ?? 'succeeded');
  }

  /** Every loop's kept runs, oldest first. */
  all(): DashboardRunSpan[] {
    return [...this.#runs.values()].flat();
  }

  /** Forgets the loops not in `names` (removed from the registry). */
  keepOnly(names: ReadonlySet<string>): void {
    for (const name of this.#runs.keys()) if (!names.has(name)) this.#runs.delete(name);
  }

  /** Ends the last run of `list` (a running one) at `end` with `outcome`. */
  static #end(
    list: DashboardRunSpan[],
    end: number,
    outcome: 'succeeded' | 'failed',
  ): DashboardRunSpan {
    const ended: DashboardRunSpan = { ...list[list.length - 1], end, outcome };
    list[list.length - 1] = ended;
    return ended;
  }

  #push(span: DashboardRunSpan): DashboardRunSpan {
    let list = this.#runs.get(span.name);
    if (list === undefined) this.#runs.set(span.name, (list = []));
    list.push(span);
    if (list.length > this.keep) list.shift();
    return span;
  }
}
