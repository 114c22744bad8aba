import { realClock, type Clock } from '../wait/internal.js';
import type { AcquireResult, Lease, LeaseWatch } from './lease-store.js';
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
import { MemoryClusters } from '../cluster/memory-cluster.js';

interface Held {
  holder: string;
  token: number;
  expiresAt: number;
}

/**
 * Leases in this process's memory: for one replica, for tests, and as the default store. It
 * elects a leader among the electors of one process only; use `RedisLeaseStore` or
 * `PostgresLeaseStore` across replicas. Time to live is kept on `clock` (default `realClock`).
 * Every call takes effect at once, so a call's `timeout` never matters here. It implements the
 * cluster contract too ({@link ClusterStore}), for the replicas of one process (tests).
 */
export class InMemoryLeaseStore implements ClusterStore {
  private readonly leases = new Map<string, Held>();
  /** Tokens outlive the leases: a new term always gets a greater one. */
  private readonly tokens = new Map<string, number>();
  private readonly watchers = new Map<string, Set<() => void>>();

  private readonly clusters: MemoryClusters;

  constructor(private readonly clock: Clock = realClock) {
    this.clusters = new MemoryClusters(clock);
  }

  acquire(name: string, identity: string, ttl: number): Promise<AcquireResult> {
    const now = this.clock.now();
    const held = this.leases.get(name);
    if (held !== undefined && held.expiresAt > now && held.holder !== identity) {
      return Promise.resolve({ acquired: false, holder: held.holder });
    }
    const token = (this.tokens.get(name) ?? 0) + 1;
    this.tokens.set(name, token);
    this.leases.set(name, { holder: identity, token, expiresAt: now + ttl });
    return Promise.resolve({ acquired: true, lease: { holder: identity, token } });
  }

  renew(name: string, lease: Lease, ttl: number): Promise<boolean> {
    const now = this.clock.now();
    const held = this.leases.get(name);
    if (held === undefined || held.expiresAt <= now || !sameTerm(held, lease)) {
      return Promise.resolve(false);
    }
    held.expiresAt = now + ttl;
    return Promise.resolve(true);
  }

  release(name: string, lease: Lease): Promise<boolean> {
    const held = this.leases.get(name);
    if (
      held === undefined ||
      held.expiresAt <= this.clock.now() ||
      held.holder !== lease.holder ||
      held.token < lease.token
    ) {
      return Promise.resolve(false);
    }
    this.leases.delete(name);
    for (const listener of this.watchers.get(name) ?? []) listener();
    return Promise.resolve(true);
  }

  watch(name: string, onReleased: () => void): Promise<LeaseWatch> {
    let listeners = this.watchers.get(name);
    if (listeners === undefined) this.watchers.set(name, (listeners = new Set()));
    // A function of its own, so that one callback watched twice is two subscriptions.
    const listener = (): void => onReleased();
    listeners.add(listener);
    const watch = {
      active: true,
      close: (): Promise<void> => {
        watch.active = false;
        listeners.delete(listener);
        return Promise.resolve();
      },
    };
    return Promise.resolve(watch);
  }

  heartbeat(cluster: string, beat: Heartbeat): Promise<HeartbeatResult> {
    return Promise.resolve(this.clusters.heartbeat(cluster, beat));
  }

  memberLoops(
    cluster: string,
    identity: string,
    digest: string,
  ): Promise<readonly string[] | undefined> {
    return Promise.resolve(this.clusters.memberLoops(cluster, identity, digest));
  }

  claimLoops(
    cluster: string,
    identity: string,
    session: number,
    loops: readonly string[],
  ): Promise<readonly ClaimResult[]> {
    return Promise.resolve(this.clusters.claimLoops(cluster, identity, session, loops));
  }

  releaseLoops(
    cluster: string,
    identity: string,
    loops: readonly OwnedLoop[],
    runs: readonly RunRecord[],
  ): Promise<readonly string[]> {
    return Promise.resolve(this.clusters.releaseLoops(cluster, identity, loops, runs));
  }

  leave(
    cluster: string,
    identity: string,
    session: number,
    runs: readonly RunRecord[],
  ): Promise<boolean> {
    return Promise.resolve(this.clusters.leave(cluster, identity, session, runs));
  }

  controlLoop(cluster: string, loop: string, change: ControlChange): Promise<number> {
    return Promise.resolve(this.clusters.controlLoop(cluster, loop, change));
  }

  controls(cluster: string): Promise<Controls> {
    return Promise.resolve(this.clusters.controls(cluster));
  }

  loopRuns(cluster: string, loops?: readonly string[]): Promise<readonly LoopRun[]> {
    return Promise.resolve(this.clusters.loopRuns(cluster, loops));
  }

  watchCluster(cluster: string, onChange: () => void): Promise<LeaseWatch> {
    const unwatch = this.clusters.watch(cluster, onChange);
    const watch = {
      active: true,
      close: (): Promise<void> => {
        watch.active = false;
        unwatch();
        return Promise.resolve();
      },
    };
    return Promise.resolve(watch);
  }
}

function sameTerm(held: Lease, lease: Lease): boolean {
  return held.holder === lease.holder && held.token === lease.token;
}
