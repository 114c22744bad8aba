import { epochOf, type Clock } from '../wait/internal.js';
import type { ManagedLoop } from './loop/managed-loop.js';
import type { LoopStatus } from './polling.interfaces.js';
import type { Placement } from '../cluster/cluster-options.js';

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
  const { period, jitter, sliding } = loop.settings;
  const status: LoopStatus = {
    name: loop.name,
    state: paused === undefined ? loop.state : 'paused',
    placement,
    owner,
    period,
    jitter,
    sliding,
    iterations: loop.iterations,
    failures: loop.failures,
    consecutiveFailures: loop.consecutiveFailures,
    inFlight: loop.inFlight,
    runningSince: dateOf(clock, loop.runningSince),
    lastStartedAt: dateOf(clock, loop.lastStartedAt),
    lastSucceededAt: dateOf(clock, loop.lastSucceededAt),
    lastError: loop.lastError,
    nextRunAt: dateOf(clock, loop.nextRunAt),
  };
  if (paused !== undefined) {
    if (paused.by !== undefined) status.pausedBy = paused.by;
    const at = dateOf(clock, paused.at);
    if (at !== undefined) status.pausedAt = at;
  }
  return status;
}
