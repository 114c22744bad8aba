import type { LastRun } from './cluster-store.js';
import type { HeldControl } from './loop-controls.js';
import { encodeReport, MAX_TRIGGERS, type RunReport, type TriggerState } from './run-report.js';

/** What an ownership needs of its managed loop. Internal. */
export interface OwnedLoopHandle {
  readonly settings: { readonly period: number; readonly sliding: boolean };
  /** The gate opened or closed. */
  gateChanged(): void;
  readonly inFlight: boolean;
  /** Resolves once no run is in flight. */
  idle(): Promise<void>;
  /** Runs an iteration now, after the one in flight; resolves once it settled (or did not run). */
  trigger(): Promise<void>;
}

/** What an ownership needs of its cluster node. Internal. */
export interface OwnershipHost {
  /** Whether the member lease lets this replica run loops at `now`. */
  valid(now: number): boolean;
  runStarted(ownership: LoopOwnership, now: number): void;
  runEnded(ownership: LoopOwnership, now: number): void;
  /** The loop's report changed though no run started or ended: send it with the next call. */
  touched(ownership: LoopOwnership): void;
  /** Sends the records now rather than at the next heartbeat (a cluster-wide trigger waits). */
  flush(): void;
}

/**
 * A loop's ownership on this replica, and (for a spread loop) its gate: it runs only while this
 * replica owns it (claimed in the store, not being handed over) and its member lease is
 * confirmed. A `'leader'` loop is owned by the leader: its gate is a {@link LeaderLoopGate},
 * which also asks the elector. Internal.
 */
export class LoopOwnership {
  /** `'draining'`: handed over; the run in flight settles before the loop is released. */
  state: 'unowned' | 'owned' | 'draining' = 'unowned';
  /** The loop's fencing token while owned here. */
  token: number | undefined = undefined;
  /** The owner as last seen: this replica while it owns the loop, or the one a claim found. */
  owner: string | undefined = undefined;
  loop: OwnedLoopHandle | undefined = undefined;
  /** Paused cluster-wide (a `stop()` on any replica, kept in the store): no run starts here. */
  paused: { readonly by: string | undefined; readonly at: number | undefined } | undefined =
    undefined;
  /** Told when the loop's cluster-wide control changed (the Nest layer applies it). */
  onControl: ((control: HeldControl | undefined) => void) | undefined = undefined;
  /** What the owner reports of the loop with its run records (the Nest layer sets it). */
  reporter: ((now: number) => RunReport) | undefined = undefined;
  /** The last cluster-wide trigger this replica heard of: each is taken once, if at all. */
  seenTrigger: string | undefined = undefined;
  /** The cluster-wide triggers this replica took as the owner, latest last, and how far each got. */
  private taken: TriggerState[] = [];
  /** The previous owner's last run, and the clock time the claim's answer came. */
  private resume: { readonly lastRun: LastRun; readonly at: number } | undefined = undefined;

  constructor(
    readonly name: string,
    private readonly host: OwnershipHost,
    /** Where the loop is placed: over the members, or on the leader. */
    readonly placement: 'spread' | 'leader' = 'spread',
  ) {}

  /** LoopGate: the loop's token while this replica owns it at `now` and it is not paused. */
  admit(now: number): number | undefined {
    return this.state === 'owned' && this.paused === undefined && this.host.valid(now)
      ? this.token
      : undefined;
  }

  /**
   * LoopGate: the first wait of a start after a claim: what is left of the period since the
   * previous owner's last recorded run (from its end when sliding, its start otherwise; from its
   * start when its end was never recorded). Once per claim.
   */
  firstDelay(now: number): number | undefined {
    const resume = this.resume;
    if (resume === undefined || this.loop === undefined) return undefined;
    this.resume = undefined;
    const { period, sliding } = this.loop.settings;
    const { startedAgo, endedAgo } = resume.lastRun;
    const since = (sliding ? (endedAgo ?? startedAgo) : startedAgo) + (now - resume.at);
    return Math.max(0, period - since);
  }

  runStarted(now: number): void {
    this.host.runStarted(this, now);
    // The first run to start after a trigger was taken serves it (ManagedLoop.trigger's rule).
    this.progress('queued', 'running');
  }

  runEnded(now: number): void {
    this.host.runEnded(this, now);
    this.progress('running', 'settled');
  }

  /**
   * Runs a cluster-wide trigger asked of this replica as the owner: reported as queued (behind
   * the run in flight), running, and settled or skipped (the loop stopped, or moved, first), each
   * sent at once for the caller that waits on another replica.
   */
  takeTrigger(id: string): void {
    this.taken.push({ id, state: 'queued' });
    if (this.taken.length > MAX_TRIGGERS) this.taken.shift();
    this.sendNow();
    void this.loop?.trigger().then(() => this.progress('queued', 'skipped', id));
  }

  /** The report sent with this loop's run records (JSON text); `undefined` without a reporter. */
  report(now: number): string | undefined {
    const report = this.reporter?.(now);
    if (report === undefined) return undefined;
    if (this.taken.length === 0 || this.owner === undefined || this.token === undefined) {
      return encodeReport(report);
    }
    const takenBy = { identity: this.owner, token: this.token };
    return encodeReport({ ...report, triggers: this.taken, takenBy });
  }

  /** Moves the taken triggers (or the one with `id`) from `from` to `to`, and sends the change. */
  private progress(from: TriggerState['state'], to: TriggerState['state'], id?: string): void {
    // Called at every run's start and end: nothing to move (the usual case) costs nothing.
    if (this.taken.length === 0) return;
    let moved = false;
    this.taken = this.taken.map((t) => {
      if (t.state !== from || (id !== undefined && t.id !== id)) return t;
      moved = true;
      return { id: t.id, state: to };
    });
    if (moved) this.sendNow();
  }

  private sendNow(): void {
    this.host.touched(this);
    this.host.flush();
  }

  /** The store gave this replica the loop with `token`, at clock time `at`. */
  claimed(identity: string, token: number, lastRun: LastRun | undefined, at: number): void {
    this.state = 'owned';
    this.token = token;
    this.owner = identity;
    this.resume = lastRun === undefined ? undefined : { lastRun, at };
    this.loop?.gateChanged();
  }

  /** No longer owned here (released, or the member's session ended). */
  lost(owner: string | undefined): void {
    const was = this.state;
    this.state = 'unowned';
    this.token = undefined;
    this.owner = owner;
    this.resume = undefined;
    this.taken = [];
    if (was === 'owned') this.loop?.gateChanged();
  }

  /** A hand-over that did not happen: owned again, with the same token. */
  reclaimed(): void {
    this.state = 'owned';
    this.loop?.gateChanged();
  }

  /** Starts a hand-over: the gate closes, the run in flight is aborted. */
  drain(): void {
    this.state = 'draining';
    this.loop?.gateChanged();
  }
}
