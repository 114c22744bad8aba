import type { RunRecord } from './cluster-store.js';

/** The last run of one owned loop, in the owner's clock time. */
interface Entry {
  token: number;
  startedAt: number;
  endedAt: number | undefined;
  /** Bumped on every change, so that a confirmed heartbeat clears only what it carried. */
  version: number;
}

/**
 * The runs a member has not yet written to the store: the latest per loop, sent with the next
 * heartbeat, release or leave (so the store calls do not grow with the runs), and kept until a
 * call that carried them was confirmed. Internal.
 */
export class RunRecords {
  private readonly entries = new Map<string, Entry>();
  private readonly dirty = new Set<string>();

  started(loop: string, token: number, now: number): void {
    const entry = this.entries.get(loop);
    if (entry === undefined) {
      this.entries.set(loop, { token, startedAt: now, endedAt: undefined, version: 0 });
    } else {
      entry.token = token;
      entry.startedAt = now;
      entry.endedAt = undefined;
      entry.version++;
    }
    this.dirty.add(loop);
  }

  ended(loop: string, now: number): void {
    const entry = this.entries.get(loop);
    if (entry === undefined) return;
    entry.endedAt = now;
    entry.version++;
    this.dirty.add(loop);
  }

  /** The loop's report changed: its record goes again with the next call (if it has one). */
  touched(loop: string): void {
    const entry = this.entries.get(loop);
    if (entry === undefined) return;
    entry.version++;
    this.dirty.add(loop);
  }

  /**
   * The records not yet confirmed, of `loops` (default all), as durations before `now`, each
   * with the report `reportOf` makes at `now`.
   */
  take(
    now: number,
    loops?: Iterable<string>,
    reportOf: (loop: string, now: number) => string | undefined = () => undefined,
  ): Sent {
    const runs: RunRecord[] = [];
    const versions = new Map<string, number>();
    for (const loop of loops ?? this.dirty) {
      const e = this.entries.get(loop);
      if (e === undefined || !this.dirty.has(loop)) continue;
      const endedAgo = e.endedAt === undefined ? undefined : now - e.endedAt;
      const report = reportOf(loop, now);
      runs.push({ loop, token: e.token, startedAgo: now - e.startedAt, endedAgo, report });
      versions.set(loop, e.version);
    }
    return { runs, versions };
  }

  /** A call that carried `sent` was confirmed: what has not changed since is written. */
  confirmed(sent: Sent): void {
    for (const [loop, version] of sent.versions) {
      if (this.entries.get(loop)?.version === version) this.dirty.delete(loop);
    }
  }

  /** The loop is no longer owned here: its record goes with the release, or not at all. */
  forget(loop: string): void {
    this.entries.delete(loop);
    this.dirty.delete(loop);
  }
}

/** Records as sent, with the versions to confirm. */
export interface Sent {
  readonly runs: RunRecord[];
  readonly versions: Map<string, number>;
}
