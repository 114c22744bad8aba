import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { LeaderElector } from '../leader/leader-elector.js';
import type { LoopStatus } from '../polling/polling.interfaces.js';
import { orchestratorOf, PollingRegistry } from '../polling/polling.registry.js';
import { summarize } from './error-summary.formatter.js';
import { terminusMessages, where } from './terminus.messages.js';
import { checkHealthOptions, type WaitHealthOptions } from './wait-health.options.js';

export type { WaitHealthOptions } from './wait-health.options.js';

/** What the indicator reports of one loop. */
export interface LoopHealth {
  state: LoopStatus['state'];
  healthy: boolean;
  iterations: number;
  consecutiveFailures: number;
  inFlight: boolean;
  lastSucceededAt?: string;
  /** Why the loop is not healthy. */
  reason?: string;
  /**
   * What the loop's last failed run threw (`LoopStatus.lastError`), as text: `name: message` for
   * an `Error`, a short form of anything else, at most 300 characters (longer is cut, ending in
   * `…`). Kept after a success, like `lastError`: `consecutiveFailures` says whether it is
   * current. Absent while the loop never failed.
   */
  lastError?: string;
}

/**
 * A `@nestjs/terminus` health indicator over the loops of `PollingRegistry` (all of them by
 * default; see {@link WaitHealthOptions.loops} and {@link WaitHealthOptions.exclude}). Up unless
 * a running loop is overdue (see {@link WaitHealthOptions.periods}), a loop asked for by name is
 * not there, or (with {@link WaitHealthOptions.requireLeader}) no replica is known to lead;
 * stopped loops (stopped on purpose) and loops standing by on a follower replica are up. With
 * leader election (a `LeaderElector` provider), it also reports this replica's `identity`, its
 * `role` and the `leader` last seen.
 *
 * @example
 * ```ts
 * @Controller('health')
 * class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly loops: WaitHealthIndicator) {}
 *   @Get() @HealthCheck()
 *   check() { return this.health.check([() => this.loops.isHealthy('loops')]); }
 * }
 * @Module({ imports: [TerminusModule], controllers: [HealthController], providers: [WaitHealthIndicator] })
 * class HealthModule {}
 * ```
 */
@Injectable()
export class WaitHealthIndicator {
  constructor(
    private readonly registry: PollingRegistry,
    private readonly indicator: HealthIndicatorService,
    @Optional() @Inject(LeaderElector) private readonly leadership?: LeaderElector | null,
  ) {}

  /**
   * The health of the loops under `key` (default `'loops'`): `{ [key]: { status, loops: { name:
   * LoopHealth }, unknown?, identity?, role?, leader?, message? } }`. `unknown` lists the names in
   * `loops` or `exclude` that no loop has; `message`, when down, says every reason: the overdue
   * loops, the unknown ones asked for, no leader. Options default as in {@link WaitHealthOptions}.
   *
   * @throws TypeError or RangeError on a bad key or option, naming it and its value; Error for
   * `requireLeader: true` without leader election.
   */
  isHealthy<const Key extends string = 'loops'>(
    key: Key = 'loops' as Key,
    options: WaitHealthOptions = {},
  ): HealthIndicatorResult<Key> {
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError(terminusMessages.key(key));
    }
    const { periods, requireLeader, names, mode } = checkHealthOptions(options);
    const leadership = this.leadership ?? undefined;
    if (requireLeader && leadership === undefined) {
      throw new Error(terminusMessages.requireLeaderWithout());
    }
    const chosen = new Set(names);
    const orchestrator = orchestratorOf(this.registry);
    const now = this.registry.now().getTime();
    const loops: Record<string, LoopHealth> = {};
    const down: string[] = [];
    const seen = new Set<string>();
    for (const status of this.registry.list()) {
      seen.add(status.name);
      if (mode !== 'all' && chosen.has(status.name) !== (mode === 'only')) continue;
      const health = judge(status, now, periods, orchestrator.initialDelayOf(status.name, where));
      loops[status.name] = health;
      if (!health.healthy) down.push(status.name);
    }
    const unknown = (names ?? []).filter((name) => !seen.has(name));
    const reasons: string[] = [];
    const data: Record<string, unknown> = { loops };
    if (unknown.length > 0) data.unknown = unknown;
    if (leadership !== undefined) {
      data.identity = leadership.identity;
      data.role = leadership.isLeader ? 'leader' : 'follower';
      data.leader = leadership.leaderIdentity ?? null;
      if (requireLeader && leadership.knownLeader === undefined) {
        const last = leadership.leaderIdentity;
        reasons.push(
          last === undefined
            ? terminusMessages.noLeader(leadership.name)
            : terminusMessages.staleLeader(leadership.name, last),
        );
      }
    }
    if (down.length > 0) reasons.push(terminusMessages.down(down));
    if (mode === 'only' && unknown.length > 0) reasons.push(terminusMessages.unknown(unknown));
    const session = this.indicator.check(key);
    if (reasons.length === 0) return session.up(data);
    return session.down({ ...data, message: reasons.join('; ') });
  }
}

function judge(status: LoopStatus, now: number, periods: number, initialDelay: number): LoopHealth {
  const health: LoopHealth = {
    state: status.state,
    healthy: true,
    iterations: status.iterations,
    consecutiveFailures: status.consecutiveFailures,
    inFlight: status.inFlight,
  };
  if (status.lastSucceededAt !== undefined) {
    health.lastSucceededAt = status.lastSucceededAt.toISOString();
  }
  if (status.failures > 0) health.lastError = summarize(status.lastError);
  if (status.state !== 'running' || status.runningSince === undefined) return health;
  const allowed = Math.ceil(periods * status.period * (1 + Math.max(0, status.jitter)));
  if (status.inFlight && status.lastStartedAt !== undefined) {
    const running = now - status.lastStartedAt.getTime();
    if (running > allowed) {
      return { ...health, healthy: false, reason: terminusMessages.longRun(running, allowed) };
    }
  }
  // Since the last success, or since the start plus its initial delay when none since then.
  const started = status.runningSince.getTime();
  const succeeded = status.lastSucceededAt?.getTime();
  const [since, limit] =
    succeeded !== undefined && succeeded >= started
      ? [succeeded, allowed]
      : [started, allowed + initialDelay];
  if (now - since > limit) {
    return { ...health, healthy: false, reason: terminusMessages.noSuccess(now - since, limit) };
  }
  return health;
}
