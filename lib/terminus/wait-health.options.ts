import { checkKeys } from '../wait/internal.js';
import { terminusMessages, where } from './terminus.messages.js';

/** Options of {@link WaitHealthIndicator.isHealthy}; every one is optional. */
export interface WaitHealthOptions {
  /**
   * A running loop is down when it has not completed a successful run for this many of its
   * periods (times `1 + jitter`, plus its initial delay) since its last success or its start, or
   * when a run has been in flight that long. Default 3.
   */
  periods?: number;
  /**
   * `true`: the result is down while no replica is known to lead (see
   * `LeaderElector.knownLeader`): none holds the lease, or the lease store has not answered this
   * replica for longer than a lease lasts, so leader-only loops may run nowhere. Meant for a
   * readiness check or an alert. Needs `WaitModule`'s `leaderElection` option: without it the
   * call throws, since no replica would ever lead. Default `false`: leadership never makes the
   * result down.
   */
  requireLeader?: boolean;
  /**
   * Only these loops count, and only they are reported. A name that no loop has (yet: loops may
   * be added with `PollingRegistry.add()`) makes the result down and is listed in `unknown`: a
   * loop you rely on is not there. Not with {@link exclude}. Default: every loop.
   */
  loops?: readonly string[];
  /**
   * Every loop but these counts, and is reported. A name that no loop has is only listed in
   * `unknown` (excluding nothing harms nothing). Not with {@link loops}. Default: none excluded.
   */
  exclude?: readonly string[];
}

/** {@link WaitHealthOptions} checked, with defaults. Internal. */
export interface CheckedHealthOptions {
  readonly periods: number;
  readonly requireLeader: boolean;
  /** Names from `loops` or `exclude`, without repeats, in the order given. */
  readonly names: readonly string[] | undefined;
  /** `'only'` for `loops`, `'except'` for `exclude`, `'all'` for neither. */
  readonly mode: 'only' | 'except' | 'all';
}

const known = ['periods', 'requireLeader', 'loops', 'exclude'] as const;

/** Checks `options`, throwing a `TypeError` or `RangeError` that names the value. Internal. */
export function checkHealthOptions(options: unknown): CheckedHealthOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(terminusMessages.options(options));
  }
  const given = options as Record<string, unknown>;
  checkKeys(given, known, where);
  const periods = given.periods ?? 3;
  if (typeof periods !== 'number' || !Number.isFinite(periods) || periods <= 0) {
    throw new RangeError(terminusMessages.periods(periods));
  }
  const requireLeader = given.requireLeader ?? false;
  if (typeof requireLeader !== 'boolean') {
    throw new TypeError(terminusMessages.boolean('requireLeader', requireLeader));
  }
  const loops = namesOf('loops', given.loops);
  const exclude = namesOf('exclude', given.exclude);
  if (loops !== undefined && exclude !== undefined) {
    throw new TypeError(terminusMessages.loopsAndExclude(loops, exclude));
  }
  const mode = loops !== undefined ? 'only' : exclude !== undefined ? 'except' : 'all';
  return { periods, requireLeader, names: loops ?? exclude, mode };
}

function namesOf(what: string, value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new TypeError(terminusMessages.names(what, value));
  const list: unknown[] = value;
  list.forEach((name, index) => {
    if (typeof name !== 'string') throw new TypeError(terminusMessages.name(what, index, name));
  });
  return [...new Set(list as string[])];
}
