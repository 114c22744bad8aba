import type { Redis } from 'ioredis';
import type {
  ClaimResult,
  ClusterMember,
  ControlChange,
  Controls,
  Heartbeat,
  HeartbeatResult,
  LastRun,
  LoopRun,
  OwnedLoop,
  RunRecord,
} from '../cluster/cluster-store.js';
import type { LeaseCallOptions, LeaseWatch } from '../leader/lease-store.js';
import {
  CLAIM,
  HEARTBEAT,
  LEAVE,
  LOOP_RUNS,
  MEMBER_LOOPS,
  RELEASE_LOOPS,
} from './redis-cluster-scripts.js';
import { CONTROL_LOOP, CONTROLS } from './redis-control-scripts.js';
import { controlArgs, toControls } from './redis-controls.js';
import type { RedisReleaseWatch } from './redis-release-watch.js';
import type { Reply } from './redis-scripts.js';

/**
 * How `RedisLeaseStore` runs a script: with the call's server deadline, throwing
 * `LeaseCallLateError` when the server refused it as late. Internal.
 */
export type ScriptRunner = <R extends Reply>(
  operation: string,
  options: LeaseCallOptions | undefined,
  run: (redis: Redis, deadline: string) => Promise<unknown>,
) => Promise<R>;

type Value = string | number | null;

type Answer = readonly [number, string, ...Value[]];

/**
 * The cluster calls of a `RedisLeaseStore` (see `ClusterStore`), one script each. A cluster's keys
 * are `<prefix>{cluster:<name>}:<part>`: one hash tag, so one Redis Cluster slot. A lease's keys
 * are `<prefix>{<name>}`, then `:token`; no part contains `}` or is empty or `token`, so what
 * follows the last `}` tells the two apart, whatever characters the names hold. Internal.
 */
export class RedisCluster {
  constructor(
    private readonly prefix: string,
    private readonly script: ScriptRunner,
    private readonly watches: RedisReleaseWatch,
  ) {}

  async heartbeat(
    cluster: string,
    beat: Heartbeat,
    options?: LeaseCallOptions,
  ): Promise<HeartbeatResult> {
    const { identity, session, ttl, digest, loops } = beat;
    const args = [identity, session === undefined ? '' : String(session), String(ttl), digest];
    args.push(loops === undefined ? '0' : '1', loops === undefined ? '' : JSON.stringify(loops));
    const reply = await this.call('heartbeat', HEARTBEAT, cluster, args, options, beat.runs);
    const now = Number(reply[1]);
    const members: ClusterMember[] = [];
    for (let i = 5; i + 4 < reply.length; i += 5) {
      members.push({
        identity: String(reply[i]),
        session: Number(reply[i + 1]),
        digest: String(reply[i + 2]),
        age: now - Number(reply[i + 3]),
        renewedAgo: now - Number(reply[i + 4]),
      });
    }
    const stored = reply[3];
    return {
      session: Number(reply[2]),
      members,
      storedDigest: stored === null ? undefined : String(stored),
      controlVersion: Number(reply[4]),
    };
  }

  async memberLoops(
    cluster: string,
    identity: string,
    digest: string,
    options?: LeaseCallOptions,
  ): Promise<readonly string[] | undefined> {
    const args = [identity, digest];
    const reply = await this.call('memberLoops', MEMBER_LOOPS, cluster, args, options);
    if (reply[0] !== 1) return undefined;
    const loops: unknown = JSON.parse(String(reply[2]));
    return Array.isArray(loops) && loops.every((loop) => typeof loop === 'string')
      ? loops
      : undefined;
  }

  async claimLoops(
    cluster: string,
    identity: string,
    session: number,
    loops: readonly string[],
    options?: LeaseCallOptions,
  ): Promise<readonly ClaimResult[]> {
    if (loops.length === 0) return [];
    const args = [identity, String(session), ...loops];
    const reply = await this.call('claimLoops', CLAIM, cluster, args, options);
    const now = Number(reply[1]);
    return loops.map((loop, k): ClaimResult => {
      if (reply[0] !== 1) return { loop, claimed: false, owner: undefined };
      const token = reply[2 * k + 2];
      const other = reply[2 * k + 3];
      if (token === null) return { loop, claimed: false, owner: String(other) };
      return { loop, claimed: true, token: Number(token), lastRun: lastRun(now, other) };
    });
  }

  async releaseLoops(
    cluster: string,
    identity: string,
    loops: readonly OwnedLoop[],
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ): Promise<readonly string[]> {
    const args = [identity, String(loops.length)];
    for (const { loop, token } of loops) args.push(loop, String(token));
    const reply = await this.call('releaseLoops', RELEASE_LOOPS, cluster, args, options, runs);
    // Indexes, not names: the answer stays small, and a name need not survive the round trip.
    return reply.slice(2).map((index) => loops[Number(index)].loop);
  }

  async leave(
    cluster: string,
    identity: string,
    session: number,
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ): Promise<boolean> {
    const args = [identity, String(session)];
    const reply = await this.call('leave', LEAVE, cluster, args, options, runs);
    return reply[0] === 1;
  }

  async controlLoop(
    cluster: string,
    loop: string,
    change: ControlChange,
    options?: LeaseCallOptions,
  ): Promise<number> {
    const args = controlArgs(loop, change);
    args.push(this.channel(cluster), cluster);
    const reply = await this.call('controlLoop', CONTROL_LOOP, cluster, args, options);
    return Number(reply[2]);
  }

  async controls(cluster: string, options?: LeaseCallOptions): Promise<Controls> {
    const reply = await this.call('controls', CONTROLS, cluster, [], options);
    return toControls(Number(reply[1]), reply.slice(2));
  }

  async loopRuns(
    cluster: string,
    loops: readonly string[] | undefined,
    options?: LeaseCallOptions,
  ): Promise<readonly LoopRun[]> {
    if (loops?.length === 0) return [];
    const args = loops === undefined ? ['0'] : ['1', ...loops];
    const reply = await this.call('loopRuns', LOOP_RUNS, cluster, args, options);
    const now = Number(reply[1]);
    const runs: LoopRun[] = [];
    for (let i = 2; i + 4 < reply.length; i += 5) {
      // Loops asked for come back as indexes, as releaseLoops answers them; the others by name.
      const loop = loops === undefined ? String(reply[i]) : loops[Number(reply[i])];
      runs.push(loopRun(now, loop, reply[i + 1], reply[i + 2], reply[i + 3], reply[i + 4]));
    }
    return runs;
  }

  async watch(cluster: string, onChange: () => void): Promise<LeaseWatch> {
    const watch = await this.watches.watch(this.channel(cluster), onChange);
    // The release watch's subscription says active after close; a closed watch must not.
    let closed = false;
    return {
      get active() {
        return !closed && watch.active;
      },
      close: () => {
        closed = true;
        return watch.close();
      },
    };
  }

  private base(cluster: string): string {
    return `${this.prefix}{cluster:${cluster}}`;
  }

  private channel(cluster: string): string {
    return `${this.base(cluster)}:changed`;
  }

  /**
   * Runs `script` on the cluster's keys with `args`, then (when the script takes run records)
   * the records and the channel and name to announce on, and the deadline. A script that
   * announces without records has the channel and name in `args`.
   */
  private call(
    operation: string,
    script: string,
    cluster: string,
    args: string[],
    options: LeaseCallOptions | undefined,
    runs?: readonly RunRecord[],
  ): Promise<Answer> {
    const base = this.base(cluster);
    const keys = KEY_PARTS.map((part) => `${base}:${part}`);
    if (runs !== undefined) {
      // The scripts keep the durations as sent: a run with no finite start tells nothing.
      const valid = runs.filter((run) => Number.isFinite(run.startedAgo));
      args.push(String(valid.length));
      for (const run of valid) {
        const ended = Number.isFinite(run.endedAgo) ? String(run.endedAgo) : '-';
        args.push(run.loop, String(run.token), String(run.startedAgo), ended);
        // A flag beside the text: any string, the empty one too, is a report kept as sent.
        args.push(run.report === undefined ? '0' : '1', run.report ?? '');
      }
      args.push(this.channel(cluster), cluster);
    }
    return this.script<Answer>(operation, options, (redis, deadline) =>
      redis.eval(script, keys.length, [...keys, ...args, deadline]),
    );
  }
}

/** The parts of a cluster's keys, in the order of the scripts' KEYS (see redis-cluster-lua.ts). */
const KEY_PARTS = [
  'members',
  'loops',
  'owners',
  'tokens',
  'runs',
  'sessions',
  'controls',
  'cversion',
  'reports',
];

/** One loop of LOOP_RUNS' answer: its live owner and token (nil: none), run and report. */
function loopRun(
  now: number,
  loop: string,
  owner: Value,
  token: Value,
  run: Value,
  report: Value,
): LoopRun {
  const live = owner !== null;
  return {
    loop,
    owner: live ? String(owner) : undefined,
    token: live && token !== null ? Number(token) : undefined,
    lastRun: lastRun(now, run),
    report: report === null ? undefined : String(report),
    // The report is written with the run, at the run's writtenAt.
    reportedAgo: run === null ? undefined : now - Number(String(run).split(' ', 1)[0]),
  };
}

/** A run as the runs hash keeps it (see redis-cluster-lua.ts), as durations before `now`. */
function lastRun(now: number, run: Value): LastRun | undefined {
  if (run === null) return undefined;
  const [written, started, ended] = String(run).split(' ');
  const since = now - Number(written);
  return {
    startedAgo: since + Number(started),
    endedAgo: ended === '-' ? undefined : since + Number(ended),
  };
}
