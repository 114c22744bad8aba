import type { Clock } from '../wait/internal.js';
import type {
  ClaimResult,
  ClusterMember,
  ControlChange,
  Controls,
  Heartbeat,
  LoopControl,
  LoopRun,
  HeartbeatResult,
  OwnedLoop,
  RunRecord,
} from './cluster-store.js';

interface Member {
  session: number;
  expiresAt: number;
  joinedAt: number;
  renewedAt: number;
  digest: string;
  loops: readonly string[];
}

interface Claim {
  owner: string | undefined;
  session: number;
  token: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
  report: string | undefined;
  reportedAt: number | undefined;
}

interface Control {
  state: 'paused' | 'started' | undefined;
  by: string | undefined;
  at: number | undefined;
  overrides: Record<string, unknown> | undefined;
  trigger: string | undefined;
  triggerAt: number | undefined;
}

interface Cluster {
  sessions: number;
  controlVersion: number;
  readonly controls: Map<string, Control>;
  readonly members: Map<string, Member>;
  readonly claims: Map<string, Claim>;
  readonly watchers: Set<() => void>;
}

/**
 * The cluster contract in this process's memory, on `clock`: what `InMemoryLeaseStore` delegates
 * its cluster calls to. Announcements reach watchers in a microtask, never inside the call.
 * Internal.
 */
export class MemoryClusters {
  private readonly clusters = new Map<string, Cluster>();

  constructor(private readonly clock: Clock) {}

  heartbeat(name: string, beat: Heartbeat): HeartbeatResult {
    const cluster = this.cluster(name);
    const now = this.clock.now();
    const known = cluster.members.get(beat.identity);
    const storedDigest = known?.digest;
    let member = known;
    let changed = false;
    if (member === undefined || member.expiresAt <= now || member.session !== beat.session) {
      member = {
        session: ++cluster.sessions,
        expiresAt: 0,
        joinedAt: now,
        renewedAt: now,
        digest: beat.digest,
        loops: beat.loops ?? [],
      };
      cluster.members.set(beat.identity, member);
      changed = true;
    }
    member.expiresAt = now + beat.ttl;
    member.renewedAt = now;
    if (beat.loops !== undefined) member.loops = [...beat.loops];
    if (beat.digest !== member.digest) changed = true;
    member.digest = beat.digest;
    this.record(cluster, beat.identity, beat.runs, now);
    if (changed) this.announce(cluster);
    return {
      session: member.session,
      members: this.live(cluster, now),
      storedDigest,
      controlVersion: cluster.controlVersion,
    };
  }

  memberLoops(name: string, identity: string, digest: string): readonly string[] | undefined {
    const member = this.cluster(name).members.get(identity);
    if (member === undefined || member.expiresAt <= this.clock.now() || member.digest !== digest) {
      return undefined;
    }
    return [...member.loops];
  }

  claimLoops(
    name: string,
    identity: string,
    session: number,
    loops: readonly string[],
  ): ClaimResult[] {
    const cluster = this.cluster(name);
    const now = this.clock.now();
    const alive = this.alive(cluster, identity, session, now);
    return loops.map((loop): ClaimResult => {
      const claim = cluster.claims.get(loop);
      if (!alive) return { loop, claimed: false, owner: undefined };
      if (claim !== undefined && claim.owner === identity && claim.session === session) {
        return { loop, claimed: true, token: claim.token, lastRun: lastRun(claim, now) };
      }
      if (claim?.owner !== undefined && this.alive(cluster, claim.owner, claim.session, now)) {
        return { loop, claimed: false, owner: claim.owner };
      }
      const next: Claim = {
        owner: identity,
        session,
        token: (claim?.token ?? 0) + 1,
        startedAt: claim?.startedAt,
        endedAt: claim?.endedAt,
        report: claim?.report,
        reportedAt: claim?.reportedAt,
      };
      cluster.claims.set(loop, next);
      return { loop, claimed: true, token: next.token, lastRun: lastRun(next, now) };
    });
  }

  releaseLoops(
    name: string,
    identity: string,
    loops: readonly OwnedLoop[],
    runs: readonly RunRecord[],
  ): string[] {
    const cluster = this.cluster(name);
    this.record(cluster, identity, runs, this.clock.now());
    const released: string[] = [];
    for (const { loop, token } of loops) {
      const claim = cluster.claims.get(loop);
      if (claim?.owner !== identity || claim.token !== token) continue;
      claim.owner = undefined;
      released.push(loop);
    }
    if (released.length > 0) this.announce(cluster);
    return released;
  }

  leave(name: string, identity: string, session: number, runs: readonly RunRecord[]): boolean {
    const cluster = this.cluster(name);
    const now = this.clock.now();
    if (!this.alive(cluster, identity, session, now)) return false;
    this.record(cluster, identity, runs, now);
    cluster.members.delete(identity);
    this.announce(cluster);
    return true;
  }

  controlLoop(name: string, loop: string, change: ControlChange): number {
    const cluster = this.cluster(name);
    const now = this.clock.now();
    const control = cluster.controls.get(loop) ?? {
      state: undefined,
      by: undefined,
      at: undefined,
      overrides: undefined,
      trigger: undefined,
      triggerAt: undefined,
    };
    if (change.state !== undefined) {
      control.state = change.state;
      control.by = change.by;
      control.at = now;
    }
    if (change.overrides !== undefined) {
      const fields = JSON.parse(change.overrides) as Record<string, unknown>;
      control.overrides = { ...control.overrides, ...fields };
    }
    if (change.trigger !== undefined) {
      control.trigger = change.trigger;
      control.triggerAt = now;
    }
    cluster.controls.set(loop, control);
    cluster.controlVersion++;
    this.announce(cluster);
    return cluster.controlVersion;
  }

  controls(name: string): Controls {
    const cluster = this.cluster(name);
    const now = this.clock.now();
    const loops: LoopControl[] = [];
    for (const [loop, c] of cluster.controls) {
      loops.push({
        loop,
        state: c.state,
        by: c.by,
        ago: c.at === undefined ? undefined : now - c.at,
        overrides: c.overrides === undefined ? undefined : JSON.stringify(c.overrides),
        trigger: c.trigger,
        triggerAgo: c.triggerAt === undefined ? undefined : now - c.triggerAt,
      });
    }
    return { version: cluster.controlVersion, loops };
  }

  loopRuns(name: string, loops?: readonly string[]): LoopRun[] {
    const cluster = this.cluster(name);
    const now = this.clock.now();
    const runs: LoopRun[] = [];
    for (const loop of loops ?? cluster.claims.keys()) {
      const claim = cluster.claims.get(loop);
      if (claim === undefined) continue;
      const live =
        claim.owner !== undefined && this.alive(cluster, claim.owner, claim.session, now);
      runs.push({
        loop,
        owner: live ? claim.owner : undefined,
        token: live ? claim.token : undefined,
        lastRun: lastRun(claim, now),
        report: claim.report,
        reportedAgo: claim.reportedAt === undefined ? undefined : now - claim.reportedAt,
      });
    }
    return runs;
  }

  watch(name: string, onChange: () => void): () => void {
    const watchers = this.cluster(name).watchers;
    // A function of its own, so that one callback watched twice is two subscriptions.
    const listener = (): void => onChange();
    watchers.add(listener);
    return () => watchers.delete(listener);
  }

  private cluster(name: string): Cluster {
    let cluster = this.clusters.get(name);
    if (cluster === undefined) {
      cluster = {
        sessions: 0,
        controlVersion: 0,
        controls: new Map(),
        members: new Map(),
        claims: new Map(),
        watchers: new Set(),
      };
      this.clusters.set(name, cluster);
    }
    return cluster;
  }

  private alive(cluster: Cluster, identity: string, session: number, now: number): boolean {
    const member = cluster.members.get(identity);
    return member !== undefined && member.session === session && member.expiresAt > now;
  }

  private live(cluster: Cluster, now: number): ClusterMember[] {
    const members: ClusterMember[] = [];
    for (const [identity, m] of cluster.members) {
      if (m.expiresAt <= now) continue;
      members.push({
        identity,
        session: m.session,
        digest: m.digest,
        age: now - m.joinedAt,
        renewedAgo: now - m.renewedAt,
      });
    }
    return members;
  }

  /** Writes each record whose token still owns its loop for `identity`. */
  private record(
    cluster: Cluster,
    identity: string,
    runs: readonly RunRecord[],
    now: number,
  ): void {
    for (const run of runs) {
      const claim = cluster.claims.get(run.loop);
      if (claim?.owner !== identity || claim.token !== run.token) continue;
      claim.startedAt = now - run.startedAgo;
      claim.endedAt = run.endedAgo === undefined ? undefined : now - run.endedAgo;
      claim.report = run.report;
      claim.reportedAt = now;
    }
  }

  private announce(cluster: Cluster): void {
    const watchers = [...cluster.watchers];
    queueMicrotask(() => {
      for (const watcher of watchers) watcher();
    });
  }
}

function lastRun(
  claim: Claim,
  now: number,
): { startedAgo: number; endedAgo: number | undefined } | undefined {
  if (claim.startedAt === undefined) return undefined;
  return {
    startedAgo: now - claim.startedAt,
    endedAgo: claim.endedAt === undefined ? undefined : now - claim.endedAt,
  };
}
