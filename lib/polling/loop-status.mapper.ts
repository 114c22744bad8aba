import { epochOf, type Clock } from '../wait/internal.js';
import type { ManagedLoop } from './loop/managed-loop.js';
import type { LoopStatus } from './polling.interfaces.js';
import type { Placement } from '../cluster/cluster-options.js';
import type { LoopRun } from '../cluster/cluster-store.js';
import { decodeReport, type RunReport } from '../cluster/run-report.js';
import { summarize } from './run-failure.formatter.js';

/** A clock time as a `Date`; `undefined` stays `undefined`. Internal. */
export function dateOf(clock: Clock, time: number | undefined): Date | undefined {
  return time === undefined ? undefined : new Date(epochOf(clock, time));
}

/** The clock's time now, as a `Date` (a `FakeClock`'s time in tests). Internal. */
export function nowOf(clock: Clock): Date {
  return new Date(epochOf(clock, clock.now()));
}

/**
 * What `PollingRegistry.get()` and `list()` show of a loop: a snapshot, its clock times as
 * `Date`s. Internal.
 */
export function statusOf(
  loop: ManagedLoop,
  clock: Clock,
  {
    placement,
    owner,
    paused,
  }: {
    placement: Placement;
    owner: string | undefined;
    paused?: { readonly by: string | undefined; readonly at: number | undefined } | undefined;
  },
): LoopStatus {
  const { period, jitter, sliding, backoff } = loop.settings;
  const status: LoopStatus = {
    name: loop.name,
    state: paused === undefined ? loop.state : 'paused',
    placement,
    owner,
    period,
    jitter,
    sliding,
    backoff: backoff !== undefined,
    iterations: loop.iterations,
    failures: loop.failures,
    consecutiveFailures: loop.consecutiveFailures,
    inFlight: loop.inFlight,
    runningSince: dateOf(clock, loop.runningSince),
    lastStartedAt: dateOf(clock, loop.lastStartedAt),
    lastSucceededAt: dateOf(clock, loop.lastSucceededAt),
    lastEndedAt: dateOf(clock, loop.lastEndedAt),
    lastOutcome: outcomeOf(loop),
    lastError: loop.lastError,
    lastErrorMessage: loop.lastError === undefined ? undefined : summarize(loop.lastError),
    nextRunAt: dateOf(clock, loop.nextRunAt),
  };
  if (paused !== undefined) {
    if (paused.by !== undefined) status.pausedBy = paused.by;
    const at = dateOf(clock, paused.at);
    if (at !== undefined) status.pausedAt = at;
  }
  return status;
}

function outcomeOf(loop: ManagedLoop): 'succeeded' | 'failed' | undefined {
  if (loop.consecutiveFailures > 0) return 'failed';
  return loop.lastSucceededAt === undefined ? undefined : 'succeeded';
}

/**
 * What the owner of a loop reports of it with each run record (see `RunReport`), at `now`.
 * Internal.
 */
export function reportOf(loop: ManagedLoop, now: number): RunReport {
  const { lastSucceededAt, lastError, nextRunAt } = loop;
  return {
    iterations: loop.iterations,
    failures: loop.failures,
    consecutiveFailures: loop.consecutiveFailures,
    outcome: outcomeOf(loop),
    error: lastError === undefined ? undefined : summarize(lastError),
    succeededAgo: lastSucceededAt === undefined ? undefined : now - lastSucceededAt,
    nextIn: nextRunAt === undefined ? undefined : nextRunAt - now,
  };
}

/**
 * The cluster's view of a spread or leader loop another replica runs (or none does): this
 * replica's status for what every replica shares (name, placement, settings with their
 * cluster-wide overrides, pause), the store's record for the rest, its durations counted back
 * from `at`, the clock time the store answered. Internal.
 */
export function clusterStatusOf(
  local: LoopStatus,
  run: LoopRun | undefined,
  clock: Clock,
  at: number,
): LoopStatus {
  const report = decodeReport(run?.report);
  const owner = run?.owner;
  const ago = (ms: number | undefined): Date | undefined =>
    ms === undefined ? undefined : dateOf(clock, at - ms);
  const reportedAgo = run?.reportedAgo;
  const since = (ms: number | undefined): number | undefined =>
    ms === undefined || reportedAgo === undefined ? undefined : reportedAgo + ms;
  const paused = local.state === 'paused';
  const status: LoopStatus = {
    name: local.name,
    state: paused ? 'paused' : owner !== undefined ? 'running' : 'standby',
    placement: local.placement,
    owner,
    period: local.period,
    jitter: local.jitter,
    sliding: local.sliding,
    backoff: local.backoff,
    iterations: report?.iterations ?? 0,
    failures: report?.failures ?? 0,
    consecutiveFailures: report?.consecutiveFailures ?? 0,
    inFlight:
      owner !== undefined && run?.lastRun !== undefined && run.lastRun.endedAgo === undefined,
    lastStartedAt: ago(run?.lastRun?.startedAgo),
    lastSucceededAt: ago(since(report?.succeededAgo)),
    lastEndedAt: ago(run?.lastRun?.endedAgo),
    lastOutcome: report?.outcome,
    lastErrorMessage: report?.error,
    nextRunAt:
      owner === undefined || paused || report?.nextIn === undefined || reportedAgo === undefined
        ? undefined
        : ago(reportedAgo - report.nextIn),
    reportedAt: ago(reportedAgo),
  };
  if (local.pausedBy !== undefined) status.pausedBy = local.pausedBy;
  if (local.pausedAt !== undefined) status.pausedAt = local.pausedAt;
  return status;
}
