import type { Redis } from 'ioredis';
import type {
  ClaimResult,
  ClusterStore,
  ControlChange,
  Controls,
  LoopRun,
  Heartbeat,
  HeartbeatResult,
  OwnedLoop,
  RunRecord,
} from '../cluster/cluster-store.js';
import type { AcquireResult, Lease, LeaseCallOptions, LeaseWatch } from '../leader/lease-store.js';
import { messages } from '../leader/leader-messages.js';
import { LeaseCallLateError, ServerDeadline } from '../leader/server-deadline.js';
import { RedisCluster } from './redis-cluster.js';
import { RedisConnections } from './redis-connections.js';
import { checkRedisOptions, type RedisLeaseStoreOptions } from './redis-options.js';
import { RedisReleaseWatch } from './redis-release-watch.js';
import {
  ACQUIRE,
  RELEASE,
  RENEW,
  toToken,
  valueOf,
  type Reply,
  type ScriptReply,
} from './redis-scripts.js';

/**
 * Leases in Redis, for replicas of one app (`nestjs-wait/redis`, needs `ioredis`; Redis 5 or
 * later). A lease is one key set with `PX` (so Redis's clock keeps the time to live, counted
 * from when the script runs), taken, renewed and released by Lua scripts that compare the whole
 * value (term token and holder) and refuse to act after the caller's deadline.
 *
 * Fencing tokens come from a counter key beside it (`INCR`), never below the server's clock in
 * microseconds: they keep growing even when Redis loses its data (a restart without
 * persistence, a failover to an empty replica), as long as its clock does not go back.
 * Keys use a hash tag, `{name}`, so a lease's keys share a Redis Cluster slot.
 *
 * A release is published on a channel, so followers take over at once.
 *
 * It implements the cluster contract too ({@link ClusterStore}): member leases and loop claims in
 * hashes under `{cluster:<name>}`, one script a call, on the same deadlines; sessions, loop
 * tokens and the loop controls' version, as lease tokens, never go below the server's clock in
 * microseconds.
 *
 * The store's main connection queues nothing while disconnected. A command that ioredis resends
 * after a reconnect still carries its deadline, so it does nothing once its caller gave up.
 */
export class RedisLeaseStore implements ClusterStore {
  private readonly prefix: string;
  private readonly connections: RedisConnections;
  private readonly releases: RedisReleaseWatch;
  private readonly deadline = new ServerDeadline();
  private readonly clusters: RedisCluster;

  /** @param options - see {@link RedisLeaseStoreOptions} for defaults. */
  constructor(options: RedisLeaseStoreOptions = {}) {
    this.prefix = checkRedisOptions(options);
    this.connections = new RedisConnections(options);
    this.releases = new RedisReleaseWatch(this.connections);
    this.clusters = new RedisCluster(
      this.prefix,
      (operation, options, run) => this.script(operation, options, run),
      this.releases,
    );
  }

  async acquire(
    name: string,
    identity: string,
    ttl: number,
    options?: LeaseCallOptions,
  ): Promise<AcquireResult> {
    const key = this.key(name);
    const reply = await this.script('acquire', options, (redis, deadline) =>
      redis.eval(ACQUIRE, 2, key, `${key}:token`, identity, ttl, deadline),
    );
    if (reply[0] === 1)
      return { acquired: true, lease: { holder: identity, token: toToken(reply[2]) } };
    return { acquired: false, holder: reply[2] };
  }

  async renew(
    name: string,
    lease: Lease,
    ttl: number,
    options?: LeaseCallOptions,
  ): Promise<boolean> {
    const reply = await this.script('renew', options, (redis, deadline) =>
      redis.eval(RENEW, 1, this.key(name), valueOf(lease), ttl, deadline),
    );
    return reply[0] === 1;
  }

  async release(name: string, lease: Lease, options?: LeaseCallOptions): Promise<boolean> {
    const reply = await this.script('release', options, (redis, deadline) =>
      redis.eval(
        RELEASE,
        1,
        this.key(name),
        lease.holder,
        lease.token,
        this.channel(name),
        name,
        deadline,
      ),
    );
    return reply[0] === 1;
  }

  watch(name: string, onReleased: () => void): Promise<LeaseWatch> {
    return this.releases.watch(this.channel(name), onReleased);
  }

  heartbeat(
    cluster: string,
    beat: Heartbeat,
    options?: LeaseCallOptions,
  ): Promise<HeartbeatResult> {
    return this.clusters.heartbeat(cluster, beat, options);
  }

  memberLoops(
    cluster: string,
    identity: string,
    digest: string,
    options?: LeaseCallOptions,
  ): Promise<readonly string[] | undefined> {
    return this.clusters.memberLoops(cluster, identity, digest, options);
  }

  claimLoops(
    cluster: string,
    identity: string,
    session: number,
    loops: readonly string[],
    options?: LeaseCallOptions,
  ): Promise<readonly ClaimResult[]> {
    return this.clusters.claimLoops(cluster, identity, session, loops, options);
  }

  releaseLoops(
    cluster: string,
    identity: string,
    loops: readonly OwnedLoop[],
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ): Promise<readonly string[]> {
    return this.clusters.releaseLoops(cluster, identity, loops, runs, options);
  }

  leave(
    cluster: string,
    identity: string,
    session: number,
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ): Promise<boolean> {
    return this.clusters.leave(cluster, identity, session, runs, options);
  }

  controlLoop(
    cluster: string,
    loop: string,
    change: ControlChange,
    options?: LeaseCallOptions,
  ): Promise<number> {
    return this.clusters.controlLoop(cluster, loop, change, options);
  }

  controls(cluster: string, options?: LeaseCallOptions): Promise<Controls> {
    return this.clusters.controls(cluster, options);
  }

  loopRuns(
    cluster: string,
    loops?: readonly string[],
    options?: LeaseCallOptions,
  ): Promise<readonly LoopRun[]> {
    return this.clusters.loopRuns(cluster, loops, options);
  }

  watchCluster(cluster: string, onChange: () => void): Promise<LeaseWatch> {
    return this.clusters.watch(cluster, onChange);
  }

  /** Closes the store's own connections at once, without waiting for the server. */
  close(): Promise<void> {
    return this.connections.close();
  }

  private key(name: string): string {
    return `${this.prefix}{${name}}`;
  }

  private channel(name: string): string {
    return `${this.key(name)}:released`;
  }

  /**
   * Runs a script with the call's server deadline and learns the server's time from its answer.
   * A failure while disconnected names the connection's own error. The store's own client queues
   * nothing while disconnected, so its first command waits for the connection.
   */
  private async script<R extends Reply = ScriptReply>(
    operation: string,
    options: LeaseCallOptions | undefined,
    run: (redis: Redis, deadline: string) => Promise<unknown>,
  ): Promise<R> {
    const started = this.deadline.now();
    try {
      const redis = await this.connections.connection();
      if (redis.status !== 'ready' && redis.options.enableOfflineQueue === false) {
        await this.connections.connected(redis);
      }
      if (!this.deadline.calibrated && options?.timeout !== undefined) {
        const [seconds, micros] = await redis.time();
        this.deadline.observe(Number(seconds) * 1000 + Number(micros) / 1000);
      }
      const deadline = this.deadline.of(started, options?.timeout);
      const reply = (await run(redis, deadline === undefined ? '0' : deadline.toFixed(3))) as R;
      this.deadline.observe(Number(reply[1]));
      if (reply[0] === -1) throw new LeaseCallLateError(messages.late(operation));
      return reply;
    } catch (error) {
      const cause = this.connections.lastError;
      if (cause !== undefined && cause !== error && !(error instanceof LeaseCallLateError)) {
        throw new Error(messages.withCause(cause.message, (error as Error).message), {
          cause: error,
        });
      }
      throw error;
    }
  }
}
