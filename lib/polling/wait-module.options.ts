import {
  checkClock,
  checkKeys,
  checkObject,
  toMillis,
  type Duration,
  realClock,
  type Clock,
} from '../wait/internal.js';
import { messages } from './polling.messages.js';
import type { LoopOverride } from './until.options.js';
import type {
  CheckedLeaderElectionOptions,
  LeaderElectionOptions,
} from '../leader/leader-election-options.js';
import {
  checkCluster,
  type CheckedClusterOptions,
  type ClusterOptions,
} from '../cluster/cluster-options.js';
import { messages as clusterMessages } from '../cluster/cluster-messages.js';

/** The lifecycle hook on which `WaitModule` aborts the loops' stop signal. */
export type ShutdownHook =
  'onModuleDestroy' | 'beforeApplicationShutdown' | 'onApplicationShutdown';

const HOOKS: readonly ShutdownHook[] = [
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
];
const KEYS = [
  'autoStart',
  'shutdownTimeout',
  'shutdownHook',
  'loops',
  'clock',
  'metrics',
  'tracing',
  'leaderElection',
  'cluster',
] as const;

/** Options of `WaitModule.forRoot()` and `forRootAsync()`; every one has a default. */
export interface WaitModuleOptions {
  /** Start every loop at application bootstrap. `false`: start them with `PollingRegistry.start()`. Default true. */
  autoStart?: boolean;
  /** How long shutdown waits for runs in flight after aborting their signal. Default `'10s'`. */
  shutdownTimeout?: Duration;
  /**
   * When to stop the loops. Nest calls `onModuleDestroy`, then `beforeApplicationShutdown`, then
   * closes the HTTP server, then `onApplicationShutdown`. The default lets loops run until the
   * end; pick an earlier hook when loops use resources that other modules release in theirs.
   * Default `'onApplicationShutdown'`.
   */
  shutdownHook?: ShutdownHook;
  /**
   * Overrides of decorated loops by name (period, jitter, sliding, initialDelay, backoff,
   * autoStart, `disabled`), e.g. from `ConfigService` through `forRootAsync()`. Default none.
   */
  loops?: Record<string, LoopOverride>;
  /** Time source of every loop; pass a `FakeClock` in tests. Default `realClock`. */
  clock?: Clock;
  /**
   * Run the app as a cluster of replicas, through leases in `store` (Redis, PostgreSQL, or in
   * memory): `'leader'` loops on the replica elected leader, `'spread'` loops each on one
   * replica chosen among those that have it, `'every'` loops everywhere. Every loop is placed
   * by `cluster.placement` (default `'leader'`) unless it says otherwise. Default none: every
   * replica runs every loop.
   */
  cluster?: ClusterOptions;
  /**
   * The older name of {@link WaitModuleOptions.cluster}, without `placement` (every loop is
   * `'leader'` by default); set one of the two. Default none.
   */
  leaderElection?: LeaderElectionOptions;
  /**
   * Record OpenTelemetry metrics of every loop (runs by outcome, run duration, runs in flight,
   * consecutive failures, leadership) on the global `MeterProvider`, when `@opentelemetry/api` is
   * installed; without it, or without a provider registered before the module starts, nothing is
   * recorded. Default true.
   */
  metrics?: boolean;
  /**
   * Wrap every run in an OpenTelemetry span named after its loop (active during the run, so spans
   * the run starts are its children), on the global `TracerProvider`, when `@opentelemetry/api` is
   * installed. Default false.
   */
  tracing?: boolean;
}

/** Options checked, with defaults applied. Internal. */
export interface CheckedWaitModuleOptions {
  readonly autoStart: boolean;
  readonly shutdownTimeout: number;
  readonly shutdownHook: ShutdownHook;
  readonly loops: Readonly<Record<string, LoopOverride>>;
  readonly clock: Clock;
  /** The election's part of `cluster` (or `leaderElection`). */
  readonly leaderElection: CheckedLeaderElectionOptions | undefined;
  readonly cluster: CheckedClusterOptions | undefined;
  readonly metrics: boolean;
  readonly tracing: boolean;
}

/** Options already checked (by `forRoot()`), so the registry does not check them again. */
const checked = new WeakMap<object, CheckedWaitModuleOptions>();

/**
 * Checks module options, naming `where` and the value; overrides are checked per loop at bootstrap.
 * Checked once per options object: `forRoot()` checks them where they are written, and the
 * registry gets the same result.
 */
export function checkModuleOptions(
  options: WaitModuleOptions | undefined,
  where: string,
): CheckedWaitModuleOptions {
  const known = options === undefined ? undefined : checked.get(options);
  if (known !== undefined) return known;
  const o = options ?? {};
  checkObject(o, where, 'options');
  checkKeys(o, KEYS, where);
  if (o.autoStart !== undefined && typeof o.autoStart !== 'boolean') {
    throw new TypeError(messages.boolean(where, 'autoStart', o.autoStart));
  }
  for (const key of ['metrics', 'tracing'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw new TypeError(messages.boolean(where, key, o[key]));
    }
  }
  if (o.shutdownHook !== undefined && !HOOKS.includes(o.shutdownHook)) {
    throw new TypeError(messages.oneOf(where, 'shutdownHook', o.shutdownHook, HOOKS));
  }
  if (o.loops !== undefined) checkObject(o.loops, where, 'loops');
  if (o.cluster !== undefined && o.leaderElection !== undefined) {
    throw new TypeError(clusterMessages.bothOptions(where));
  }
  const cluster =
    o.cluster !== undefined
      ? checkCluster(o.cluster, where, 'cluster')
      : o.leaderElection !== undefined
        ? checkCluster(o.leaderElection, where, 'leaderElection')
        : undefined;
  const result: CheckedWaitModuleOptions = {
    autoStart: o.autoStart ?? true,
    shutdownTimeout: toMillis(o.shutdownTimeout ?? '10s', where, 'shutdownTimeout'),
    shutdownHook: o.shutdownHook ?? 'onApplicationShutdown',
    loops: o.loops ?? {},
    clock: o.clock === undefined ? realClock : checkClock(o.clock, where),
    leaderElection: cluster?.election,
    cluster,
    metrics: o.metrics ?? true,
    tracing: o.tracing ?? false,
  };
  if (options !== undefined) checked.set(options, result);
  return result;
}
