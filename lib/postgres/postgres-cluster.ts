import type {
  ClaimResult,
  ClusterMember,
  ControlChange,
  Controls,
  Heartbeat,
  HeartbeatResult,
  LoopRun,
  OwnedLoop,
  RunRecord,
} from '../cluster/cluster-store.js';
import type { LeaseCallOptions, LeaseWatch } from '../leader/lease-store.js';
import { claimStatements, type ClaimStatements } from './postgres-claim-statements.js';
import { PostgresCalls, PostgresTables } from './postgres-calls.js';
import { memberStatements, type MemberStatements } from './postgres-cluster-statements.js';
import { controlStatements } from './postgres-control-statements.js';
import { PostgresControls } from './postgres-controls.js';
import {
  claimOutcome,
  loopRunOf,
  type Planned,
  type Recorded,
  type Written,
} from './postgres-claim-answers.js';
import {
  announcementOf,
  arrayLiteral,
  asText,
  distinctTexts,
  runColumns,
} from './postgres-cluster-values.js';
import type { PostgresNames } from './postgres-options.js';
import type { PostgresReleaseListener } from './postgres-release-listener.js';

/**
 * The cluster calls of a `PostgresLeaseStore` (see `ClusterStore`): member leases in
 * `<table>_members`, loop claims in `<table>_loops`, loop controls in `<table>_controls` and
 * `<table>_clusters` (see {@link PostgresControls}), made on the first cluster call, each call
 * one statement (see postgres-cluster-statements.ts and postgres-claim-statements.ts). Its
 * announcements share the store's channel and LISTEN connection with the lease releases.
 * Internal.
 */
export class PostgresCluster {
  private readonly tables: PostgresTables;
  private readonly members: MemberStatements;
  private readonly claims: ClaimStatements;
  private readonly channel: string;
  private readonly controlsOf: PostgresControls;

  constructor(
    private readonly calls: PostgresCalls,
    names: PostgresNames,
    private readonly listener: PostgresReleaseListener,
  ) {
    this.members = memberStatements(names.members, names.loops, names.sequence, names.clusters);
    this.claims = claimStatements(names.members, names.loops, names.sequence);
    const controls = controlStatements(names.controls, names.clusters);
    this.tables = new PostgresTables([...this.members.create, ...controls.create]);
    this.channel = names.channel;
    this.controlsOf = new PostgresControls(calls, this.tables, controls, names.channel);
  }

  async heartbeat(
    cluster: string,
    beat: Heartbeat,
    options?: LeaseCallOptions,
  ): Promise<HeartbeatResult> {
    const row = await this.calls.statement<{
      session: string | null;
      stored_digest: string | null;
      members: [string, number, string, number, number][] | null;
      control_version: string | null;
    }>(
      this.tables,
      'heartbeat',
      options,
      this.members.heartbeat,
      [
        cluster,
        beat.identity,
        beat.session ?? null,
        beat.ttl,
        beat.digest,
        beat.loops === undefined ? null : arrayLiteral(beat.loops),
        ...runColumns(beat.runs),
        this.channel,
        announcementOf(cluster),
      ],
      (r) => r.session === null,
    );
    const members = (row.members ?? []).map(
      ([identity, session, digest, age, renewedAgo]): ClusterMember => ({
        identity,
        session,
        digest,
        age,
        renewedAgo,
      }),
    );
    return {
      session: Number(row.session),
      members,
      storedDigest: row.stored_digest ?? undefined,
      controlVersion: Number(row.control_version ?? 0),
    };
  }

  async memberLoops(
    cluster: string,
    identity: string,
    digest: string,
    options?: LeaseCallOptions,
  ): Promise<readonly string[] | undefined> {
    const row = await this.calls.statement<{ loops: string[] | null }>(
      this.tables,
      'memberLoops',
      options,
      this.members.memberLoops,
      [cluster, identity, digest],
      () => false, // a read: a late answer is as good as any
    );
    return row.loops ?? undefined;
  }

  async claimLoops(
    cluster: string,
    identity: string,
    session: number,
    loops: readonly string[],
    options?: LeaseCallOptions,
  ): Promise<readonly ClaimResult[]> {
    if (loops.length === 0) return [];
    const texts = distinctTexts(loops);
    const row = await this.calls.statement<{ plan: Planned[]; written: Written[] | null }>(
      this.tables,
      'claimLoops',
      options,
      this.claims.claim,
      [cluster, identity, session, arrayLiteral(texts)],
      (r) => r.written === null,
    );
    const written = new Map((row.written ?? []).map((w) => [w[0], w]));
    const outcomes = new Map(
      texts.map((text, i) => [text, claimOutcome(row.plan[i], written.get(text))] as const),
    );
    return loops.map((loop) => ({ loop, ...outcomes.get(asText(loop))! }));
  }

  async releaseLoops(
    cluster: string,
    identity: string,
    loops: readonly OwnedLoop[],
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ): Promise<readonly string[]> {
    if (loops.length === 0 && runs.length === 0) return [];
    const [names, tokens, startedAgo, endedAgo, reports] = runColumns(
      runs,
      loops.map((l) => l.loop),
    );
    const row = await this.calls.statement<{ released: string[] | null; written: string }>(
      this.tables,
      'releaseLoops',
      options,
      this.claims.release,
      [
        cluster,
        identity,
        names,
        startedAgo,
        endedAgo,
        tokens,
        reports,
        arrayLiteral(loops.map((l) => l.loop)),
        arrayLiteral(loops.map((l) => l.token)),
        this.channel,
        announcementOf(cluster),
      ],
      (r) => Number(r.written) === 0,
    );
    const released = new Set(row.released);
    // Answered as the caller spelled them, each once.
    return [...new Set(loops.map((l) => l.loop))].filter((loop) => released.delete(asText(loop)));
  }

  async leave(
    cluster: string,
    identity: string,
    session: number,
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ): Promise<boolean> {
    const row = await this.calls.statement<{ done: boolean }>(
      this.tables,
      'leave',
      options,
      this.members.leave,
      [cluster, identity, session, ...runColumns(runs), this.channel, announcementOf(cluster)],
      (r) => !r.done,
    );
    return row.done;
  }

  controlLoop(
    cluster: string,
    loop: string,
    change: ControlChange,
    options?: LeaseCallOptions,
  ): Promise<number> {
    return this.controlsOf.controlLoop(cluster, loop, change, options);
  }

  controls(cluster: string, options?: LeaseCallOptions): Promise<Controls> {
    return this.controlsOf.controls(cluster, options);
  }

  async loopRuns(
    cluster: string,
    loops?: readonly string[],
    options?: LeaseCallOptions,
  ): Promise<readonly LoopRun[]> {
    if (loops?.length === 0) return [];
    const row = await this.calls.statement<{ runs: Recorded[] | null }>(
      this.tables,
      'loopRuns',
      options,
      this.claims.loopRuns,
      [cluster, loops === undefined ? null : arrayLiteral(distinctTexts(loops))],
      () => false, // a read: a late answer is as good as any
    );
    const runs = (row.runs ?? []).map(loopRunOf);
    if (loops === undefined) return runs;
    // Answered in the caller's order and as the caller spelled them; a loop without a row is
    // left out.
    const byText = new Map(runs.map((run) => [run.loop, run]));
    return loops.flatMap((loop) => {
      const run = byText.get(asText(loop));
      return run === undefined ? [] : [{ ...run, loop }];
    });
  }

  watch(cluster: string, onChange: () => void): Promise<LeaseWatch> {
    return this.listener.watch(announcementOf(cluster), onChange);
  }
}
