import type { Duration } from '../wait/internal.js';
import type { Placement } from '../cluster/cluster-options.js';

/*
 * What the user writes to configure a loop, derived from one base:
 * - UntilOptions: `@Until(period, options)`;
 * - LoopDefinition = UntilOptions & { period }: `@Until({ period, ... })`, `PollingRegistry.add()`;
 * - LoopOverride = Partial<LoopDefinition> & { disabled }: `WaitModule`'s `loops`;
 * - LoopChanges = LoopDefinition's timing fields, optional, `null` clearing `backoff` and
 *   `timeout`: `PollingRegistry.update()`.
 * Their one checked form, `LoopPlan` (until-options.checker.ts), is internal.
 */

/**
 * After a failed run, wait this backoff instead of the period; the first success resets it.
 * The waits follow Go's `NewExponentialBackoffManager`: `initial`, then times `factor`, up to `max`.
 */
export interface UntilBackoff {
  /** The first wait after a failure. */
  initial: Duration;
  /** The longest wait. */
  max: Duration;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
  /** Jitter factor of each wait (`<= 0`: none). Default 0. */
  jitter?: number;
  /** Also start over from `initial` after this long without a failure. Default: only a success resets. */
  resetAfter?: Duration;
}

/** How a loop runs; every field has a default. The base of every loop configuration type. */
export interface UntilOptions {
  /** The loop's name in the registry, logs and events. Default `'ClassName.methodName'`. */
  name?: string;
  /** Jitter factor: each wait is drawn from `[period, period * (1 + jitter))`; `<= 0` means none. Default 0. */
  jitter?: number;
  /** `true`: the period starts when a run ends; `false`: when it starts (runs never overlap either way). Default true. */
  sliding?: boolean;
  /** Wait before the first run of each start. Default 0: the first run is at start, as in Go. */
  initialDelay?: Duration;
  /** Wait a backoff after a failed run instead of the period. Default none. */
  backoff?: UntilBackoff;
  /**
   * The longest a run may take: past it, `ctx.signal` aborts with a `RunTimeoutError` and the run
   * counts as failed with it (the backoff applies) however it ends. The next run still waits for
   * it to settle, so runs never overlap. Must be more than 0. Default none.
   */
  timeout?: Duration;
  /** Start with the application (or at `PollingRegistry.add()`). Default true. */
  autoStart?: boolean;
  /**
   * Where the loop runs when the app runs as several replicas (see `WaitModule`'s `cluster`):
   * `'leader'` on the replica that leads, `'spread'` on one replica chosen for this loop,
   * `'every'` on every replica. On the others it stands by. Default: the cluster's `placement`
   * (itself `'leader'` by default) when `cluster` is set, `'every'` without it; `'leader'` or
   * `'spread'` without `cluster` fails bootstrap.
   */
  placement?: Placement;
  /**
   * The older form of {@link UntilOptions.placement}: `true` is `'leader'`, `false` is
   * `'every'`. Default as `placement`.
   */
  leaderOnly?: boolean;
}

/**
 * A loop's whole definition: {@link UntilOptions} (every field defaults as there) and its
 * period, which has no default. What `@Until({ period, ... })` and `PollingRegistry.add()` take.
 */
export type LoopDefinition = UntilOptions & {
  /** Time between runs: milliseconds or a Go duration string (`'30s'`, `'1m30s'`). */
  period: Duration;
};

/**
 * What `WaitModule` options may change of a decorated loop, by name: any field of its
 * {@link LoopDefinition} (a field left out keeps the decorator's value), and `disabled`.
 */
export type LoopOverride = Partial<LoopDefinition> & {
  /** Never start the loop with the application (the registry can still start it). Default false. */
  disabled?: boolean;
};

/**
 * The changes {@link PollingRegistry.update} accepts: the timing fields of a
 * {@link LoopDefinition}, each optional (a field left out stays as it is), `null` removing a
 * backoff or a timeout. A new `period`, `jitter` or `sliding` re-plans the wait in progress;
 * `initialDelay` applies from the loop's next start; `backoff` from its next failure (a new
 * backoff starts over from `initial`; a backoff wait in progress ends as planned); `timeout`
 * from its next run.
 */
export type LoopChanges = Partial<
  Pick<LoopDefinition, 'period' | 'jitter' | 'sliding' | 'initialDelay'>
> & {
  /** The backoff from the loop's next failure; `null`: none from now on. */
  backoff?: UntilBackoff | null;
  /** The timeout from the loop's next run; `null`: none from now on. */
  timeout?: Duration | null;
};
