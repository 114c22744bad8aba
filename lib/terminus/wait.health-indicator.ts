import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { LeaderElector } from '../leader/leader-elector.js';
import { describe } from '../leader/leader-messages.js';
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

/** What the cluster's check reports of one spread or leader loop. */
export interface ClusterLoopHealth {
  placement: LoopStatus['placement'];
  state: LoopStatus['state'];
  /** The replica that holds the loop's claim in the store; `null`: none alive does. */
  owner: string | null;
  consecutiveFailures: number;
  /** `LoopStatus.lastErrorMessage`, as the owner reported it. */
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

  /**
   * The health of the whole cluster under `key` (default `'cluster'`), read from the store in
   * one call (`PollingRegistry.list({ cluster: true })`): `{ [key]: { status, members, leader,
   * loops: { name: ClusterLoopHealth }, message? } }` over the spread and leader loops this
   * replica has (a loop registered only on replicas that are gone is not seen). Down when
   * a loop that is not paused has no live owner in the store (it runs nowhere), when there are
   * leader loops and no replica is known to lead, or when the store did not answer within the
   * renew deadline (said in `message`; the promise never rejects for it). Every replica answers
   * alike, so it suits an alert or a status page, not a readiness probe: a loop has no owner for
   * up to a lease duration during a failover, and every replica would turn unready at once. Up,
   * with no loops, without the `cluster` option.
   *
   * @throws TypeError on a bad key, naming it.
   */
  async isClusterHealthy<const Key extends string = 'cluster'>(
    key: Key = 'cluster' as Key,
  ): Promise<HealthIndicatorResult<Key>> {
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError(terminusMessages.clusterKey(key));
    }
    const session = this.indicator.check(key);
    const members = this.registry.members();
    const leader = members.find((m) => m.leader)?.identity ?? null;
    const data: Record<string, unknown> = {
      members: members.map((m) => m.identity),
      leader,
    };
    let statuses: LoopStatus[];
    try {
      statuses = await this.registry.list({ cluster: true });
    } catch (error) {
      const text = terminusMessages.storeUnread(describe(error));
      return session.down({ ...data, loops: {}, message: text });
    }
    const loops: Record<string, ClusterLoopHealth> = {};
    const nowhere: string[] = [];
    let leaderLoops = 0;
    for (const status of statuses) {
      if (status.placement === 'every') continue;
      if (status.placement === 'leader') leaderLoops++;
      const health: ClusterLoopHealth = {
        placement: status.placement,
        state: status.state,
        owner: status.owner ?? null,
        consecutiveFailures: status.consecutiveFailures,
      };
      if (status.lastErrorMessage !== undefined) health.lastError = status.lastErrorMessage;
      loops[status.name] = health;
      if (status.state !== 'paused' && status.owner === undefined) nowhere.push(status.name);
    }
    data.loops = loops;
    const reasons: string[] = [];
    if (nowhere.length > 0) reasons.push(terminusMessages.placedNowhere(nowhere));
    if (leaderLoops > 0 && this.leadership?.knownLeader === undefined) {
      reasons.push(terminusMessages.noClusterLeader(leaderLoops));
    }
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
