import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { LeaderElector } from '../leader/leader-elector.js';
import type { LoopStatus } from '../polling/polling.interfaces.js';
import { PollingRegistry } from '../polling/polling.registry.js';
import { terminusMessages } from './terminus.messages.js';

/** Options of {@link WaitHealthIndicator.isHealthy}. */
export interface WaitHealthOptions {
  /**
   * A running loop is down when it has not completed a successful run for this many of its
   * periods (times `1 + jitter`, plus its initial delay) since its last success or its start, or
   * when a run has been in flight that long. Default 3.
   */
  periods?: number;
}

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
}

/**
 * A `@nestjs/terminus` health indicator over every loop of `PollingRegistry`. Up unless a running
 * loop is overdue (see {@link WaitHealthOptions.periods}); stopped loops (stopped on purpose) and
 * loops standing by on a follower replica are up. With leader election (a provider of
 * `LEADERSHIP`), it also reports this replica's `identity`, its `role` and the `leader`.
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
   * The health of every loop under `key` (default `'loops'`): `{ [key]: { status, loops: { name:
   * LoopHealth }, identity?, role?, leader? } }`, `down` naming the overdue loops.
   */
  isHealthy<const Key extends string = 'loops'>(
    key: Key = 'loops' as Key,
    options: WaitHealthOptions = {},
  ): HealthIndicatorResult<Key> {
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError(terminusMessages.key(key));
    }
    const periods = options.periods ?? 3;
    if (typeof periods !== 'number' || !Number.isFinite(periods) || periods <= 0) {
      throw new RangeError(terminusMessages.periods(periods));
    }
    const now = this.registry.now().getTime();
    const loops: Record<string, LoopHealth> = {};
    const down: string[] = [];
    for (const status of this.registry.list()) {
      const health = judge(status, now, periods, this.registry.initialDelayOf(status.name));
      loops[status.name] = health;
      if (!health.healthy) down.push(status.name);
    }
    const data: Record<string, unknown> = { loops };
    const leadership = this.leadership;
    if (leadership !== undefined && leadership !== null) {
      data.identity = leadership.identity;
      data.role = leadership.isLeader ? 'leader' : 'follower';
      data.leader = leadership.leaderIdentity ?? null;
    }
    const session = this.indicator.check(key);
    if (down.length === 0) return session.up(data);
    return session.down({ ...data, message: terminusMessages.down(down) });
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
