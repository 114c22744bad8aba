import { randomUUID } from 'node:crypto';
import { Deadline, type Clock } from '../wait/internal.js';
import { ElectorLoop } from '../leader/elector-loop.js';
import type { ElectorLogger } from '../leader/elector-settings.js';
import type { CheckedLeaderElectionOptions } from '../leader/leader-election-options.js';
import { describe } from '../leader/leader-messages.js';
import { ReleaseWatch } from '../leader/release-watch.js';
import { storeCall } from '../leader/store-call.js';
import { StoreFailures } from '../leader/store-failures.js';
import { messages } from './cluster-messages.js';
import type {
  ClusterMember,
  ClusterStore,
  ControlChange,
  HeartbeatResult,
  LoopRun,
} from './cluster-store.js';
import { LoopControls, type HeldControl } from './loop-controls.js';
import { LoopOwnership } from './loop-ownership.js';
import { MemberView } from './member-view.js';
import { RunRecords, type Sent } from './run-records.js';
import { waitForTrigger } from './trigger-wait.js';

/** What the member needs of the leader elector, for the `'leader'` loops. Internal. */
export interface LeaderView {
  readonly isLeader: boolean;
  readonly knownLeader: string | undefined;
}

/**
 * This replica as a member of the cluster, for its spread and leader loops. Every
 * `retryPeriod` it renews its member lease (one store call, whatever the number of loops; it
 * carries the runs recorded since), learns the live members and, when their version changed,
 * the loops' cluster-wide controls; places every spread loop over the members (rendezvous
 * hashing with bounded load) and the `'leader'` loops on the leader; hands over the loops
 * placed elsewhere (their runs settle first) and claims the loops placed here. It fails closed
 * as the elector does: no heartbeat confirmed within `renewDeadline` (counted from when it was
 * sent), none of its loops starts a run. Store announcements (a join, a release, a leave, a
 * control) make it act at once. Internal: `WaitModule` makes one with the first spread loop, or
 * leader loop on a cluster store.
 */
export class ClusterNode {
  readonly identity: string;
  readonly name: string;
  private readonly store: ClusterStore;
  private readonly ownerships = new Map<string, LoopOwnership>();
  private readonly records = new RunRecords();
  private readonly view: MemberView;
  private readonly controls: LoopControls;
  private readonly loop: ElectorLoop;
  private readonly watch: ReleaseWatch;
  private readonly failures: StoreFailures;
  private readonly deadline: Deadline;
  private session: number | undefined = undefined;
  private validUntil = -Infinity;
  /** The digest the store holds for this member, as far as this replica knows. */
  private storedDigest: string | undefined = undefined;
  private started = false;
  private retiring = false;
  private stopping: Promise<void> | undefined = undefined;
  /** Releases sent and not yet answered, so that shutdown waits for them. */
  private readonly releasing = new Set<Promise<void>>();
  /** Drained loops whose release failed: still ours in the store, released again next tick. */
  private readonly unreleased = new Set<LoopOwnership>();
  /**
   * Loops whose claim failed without an answer: maybe ours in the store. Claimed again next tick
   * wherever they are placed, so that one found ours is handed over rather than kept from the
   * others for as long as this session lives.
   */
  private readonly unanswered = new Set<LoopOwnership>();
  /** Drained loops whose run settled, to release with the next call (see releaseIdle). */
  private readonly settled = new Set<LoopOwnership>();
  private releasingSettled = false;
  /** Claims the leader's loops again soon after a claim found the previous leader's alive. */
  private readonly soon: Deadline;
  /** Aborted on shutdown: the waits for cluster-wide triggers end. */
  private readonly life = new AbortController();
  /** Only the spread loops are placed over the members (and their names sent). */
  private readonly names = (): Iterable<string> => spreadNames(this.ownerships.values());

  constructor(
    private readonly options: CheckedLeaderElectionOptions,
    store: ClusterStore,
    private readonly clock: Clock,
    private readonly logger: ElectorLogger,
    private readonly elector?: LeaderView,
  ) {
    this.store = store;
    this.identity = options.identity;
    this.name = options.name;
    this.view = new MemberView(store, options.name, options.identity);
    this.controls = new LoopControls(store, options.name, clock);
    this.deadline = new Deadline(clock, () => this.expire());
    this.soon = new Deadline(clock, () => this.changed());
    this.loop = new ElectorLoop(
      (signal) => this.tick(signal),
      options.retryPeriod,
      0,
      clock,
      Math.random,
    );
    const subscribe = store.watchCluster?.bind(store, options.name);
    this.watch = new ReleaseWatch(
      subscribe,
      options.name,
      logger,
      () => this.changed(),
      () => this.stopping !== undefined,
    );
    this.failures = new StoreFailures(options.name, options.retryPeriod, logger);
  }

  /** Whether the member lease lets this replica run loops at `now`. */
  valid(now: number): boolean {
    return now < this.validUntil;
  }

  /** The live members as the store last listed them. */
  get members(): readonly ClusterMember[] {
    return this.view.members;
  }

  /** When (clock time) the store last listed the members: their durations count from then. */
  membersAt = -Infinity;

  /** The cluster-wide control of `loop` as this replica last heard it. */
  controlOf(loop: string): HeldControl | undefined {
    return this.controls.of(loop);
  }

  /**
   * Keeps `change` in the store for `loop` (every replica follows it, now and after a move),
   * then applies it here at once; the others hear of it by the announcement, or their next
   * heartbeat. Rejects, having changed nothing here, if the store does not take it within the
   * renew deadline.
   */
  async control(loop: string, change: ControlChange): Promise<void> {
    const timeout = this.options.renewDeadline;
    const call = (): Promise<number> =>
      this.store.controlLoop(this.name, loop, change, { timeout });
    await storeCall(call, 'controlLoop', timeout, this.clock, new AbortController().signal);
    this.controls.applied(loop, change);
    this.ownerships.get(loop)?.onControl?.(this.controls.of(loop));
    this.changed();
  }

  /**
   * Asks the owner of `loop`, wherever it runs, for a run now (kept in the store with the loop's
   * control, as an id of its own), and resolves once the owner reports that run settled. Rejects
   * if the store does not take it within the renew deadline (nothing was asked), if no live
   * owner reports taking it within the lease duration, if that owner is lost before the run
   * settles, and on shutdown. For a loop this replica owns, the Nest layer runs it here instead.
   */
  async trigger(loop: string): Promise<void> {
    const id = `${this.identity}/${randomUUID()}`;
    // Seen here before it is stored: the caller never takes its own trigger (an id never stored
    // is never heard of again).
    const ownership = this.ownerships.get(loop);
    if (ownership !== undefined) ownership.seenTrigger = id;
    try {
      await this.control(loop, { by: this.identity, trigger: id });
    } catch (error) {
      throw new Error(messages.triggerNotAsked(loop, describe(error)), { cause: error });
    }
    const { leaseDuration, retryPeriod, renewDeadline } = this.options;
    await waitForTrigger({
      store: this.store,
      cluster: this.name,
      loop,
      id,
      clock: this.clock,
      bound: leaseDuration,
      every: retryPeriod / 4,
      timeout: renewDeadline,
      signal: this.life.signal,
    });
  }

  /** The claim and last record of each of `loops`, in one store call bounded by the renew deadline. */
  loopRuns(loops: readonly string[]): Promise<readonly LoopRun[]> {
    const timeout = this.options.renewDeadline;
    const call = () => this.store.loopRuns(this.name, loops, { timeout });
    return storeCall(call, 'loopRuns', timeout, this.clock, new AbortController().signal);
  }

  /**
   * Takes the cluster-wide trigger `control` carries, once, if this replica owns the loop and
   * heard of it while fresh (within the renew deadline of when it was asked: one heard of
   * later, or with the first fetch of the controls, may have been meant for, or run by, an
   * earlier owner).
   */
  private offer(o: LoopOwnership, control: HeldControl | undefined, first: boolean): void {
    const id = control?.trigger;
    if (id === undefined || id === o.seenTrigger) return;
    o.seenTrigger = id;
    const at = control!.triggerAt;
    const fresh = at !== undefined && this.clock.now() - at < this.options.renewDeadline;
    if (first || !fresh || o.state !== 'owned' || o.paused !== undefined) return;
    o.takeTrigger(id);
  }

  /** How many loops each live member runs, by this replica's placement (the leader's included). */
  placedCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    const leader = this.elector?.knownLeader;
    for (const owner of this.view.placement().values()) {
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    if (leader !== undefined) {
      let led = 0;
      for (const o of this.ownerships.values()) if (o.placement === 'leader') led++;
      counts.set(leader, (counts.get(leader) ?? 0) + led);
    }
    return counts;
  }

  /** A spread or leader loop registered here: its ownership is (part of) its gate. */
  add(name: string, placement: 'spread' | 'leader' = 'spread'): LoopOwnership {
    const ownership = new LoopOwnership(name, this, placement);
    ownership.seenTrigger = this.controls.of(name)?.trigger;
    this.ownerships.set(name, ownership);
    if (placement === 'spread') this.view.localChanged(this.names);
    if (this.started) this.loop.trigger();
    return ownership;
  }

  /** A loop removed here, after it stopped: released if owned. */
  remove(name: string): Promise<void> {
    const ownership = this.ownerships.get(name);
    if (ownership === undefined) return Promise.resolve();
    this.ownerships.delete(name);
    this.unanswered.delete(ownership);
    if (ownership.placement === 'spread') this.view.localChanged(this.names);
    if (this.started) this.loop.trigger();
    return ownership.state === 'unowned' ? Promise.resolve() : this.release([ownership]);
  }

  /** Joins at once, then every retry period. Idempotent. */
  start(): void {
    if (this.started || this.stopping !== undefined) return;
    this.started = true;
    this.loop.start();
  }

  /** Shutdown began: no more claims or hand-overs; heartbeats go on while runs settle. */
  retire(): void {
    this.retiring = true;
    this.life.abort();
  }

  /**
   * Leaves the cluster once the spread loops have stopped and their runs settled (`left`: none
   * is still running): one call writes the last runs and frees every loop, so that the others
   * claim them at once. Bounded by `timeout` (at least the retry period). Idempotent.
   */
  stop(left: boolean, timeout: number): Promise<void> {
    return (this.stopping ??= this.leave(left, Math.max(timeout, this.options.retryPeriod)));
  }

  /**
   * This replica's leadership changed (the elector tells its gated loops, and this): the leader's
   * loops are claimed or handed over at once rather than at the next heartbeat.
   */
  gateChanged(): void {
    this.changed();
  }

  private changed(): void {
    if (this.started && this.stopping === undefined) this.loop.trigger();
  }

  /** OwnershipHost: a run of an owned loop started. */
  runStarted(ownership: LoopOwnership, now: number): void {
    if (ownership.token !== undefined) this.records.started(ownership.name, ownership.token, now);
  }

  /** OwnershipHost: the run in flight settled. */
  runEnded(ownership: LoopOwnership, now: number): void {
    this.records.ended(ownership.name, now);
  }

  /** OwnershipHost: the loop's report changed. */
  touched(ownership: LoopOwnership): void {
    this.records.touched(ownership.name);
  }

  /** OwnershipHost: a heartbeat now carries the records (one in flight serves, then one more). */
  flush(): void {
    this.changed();
  }

  /** The report of `loop` at `now`, to send with its record. */
  private readonly reportOf = (loop: string, now: number): string | undefined =>
    this.ownerships.get(loop)?.report(now);

  private async tick(signal: AbortSignal): Promise<void> {
    if (!this.retiring) this.watch.keep();
    const sent = this.clock.now();
    const { digest, names } = this.view.local();
    const valid = this.valid(sent);
    // A member that runs no loop gives up after one retry period, so that it asks again soon;
    // and sends no run: a heartbeat carrying thousands of them may take longer than that, every
    // time. They go with the next heartbeat if the session lived on, and are dropped with the
    // loops if not.
    const runs = valid ? this.records.take(sent, undefined, this.reportOf) : NO_RUNS;
    const timeout = valid ? Math.max(1, this.validUntil - sent) : this.options.retryPeriod;
    // The names go with a join, a new digest, and every beat of a member past its renew
    // deadline: its session may have ended, and a new one starts with the names the beat carries.
    const withNames = this.session === undefined || this.storedDigest !== digest || !valid;
    const beat = {
      identity: this.identity,
      session: this.session,
      ttl: this.options.leaseDuration,
      digest,
      loops: withNames ? names : undefined,
      runs: runs.runs,
    };
    let result: HeartbeatResult;
    try {
      const call = (): Promise<HeartbeatResult> =>
        this.store.heartbeat(this.name, beat, { timeout });
      result = await storeCall(call, 'heartbeat', timeout, this.clock, signal);
    } catch (error) {
      return this.failures.failed('heartbeat', error, signal);
    }
    this.failures.answered();
    this.membersAt = this.clock.now();
    this.records.confirmed(runs);
    // Sent without the names while the store held another digest, or into a new session (a
    // store that lost its data): send them again.
    const kept = result.storedDigest === digest && result.session === this.session;
    this.storedDigest = withNames || kept ? digest : undefined;
    if (result.session !== this.session) this.newSession(result.session);
    this.confirm(sent);
    if (this.retiring || this.stopping !== undefined) return;
    try {
      const changed = await this.controls.sync(result.controlVersion, (call) =>
        storeCall(call, 'controls', this.options.renewDeadline, this.clock, signal),
      );
      const first = this.controls.first;
      for (const loop of changed) {
        const o = this.ownerships.get(loop);
        if (o === undefined) continue;
        const control = this.controls.of(loop);
        o.onControl?.(control);
        this.offer(o, control, first);
      }
    } catch (error) {
      // Claims wait for the controls: a loop paused cluster-wide must not run here first.
      if (!this.controls.known) return this.failures.failed('controls', error, signal);
    }
    await this.view.learn(result.members, (call) =>
      storeCall(call, 'memberLoops', this.options.renewDeadline, this.clock, signal),
    );
    await this.rebalance(signal);
  }

  /** The store started a new session: every loop owned under the old one is lost. */
  private newSession(session: number): void {
    const owned = [...this.ownerships.values()].filter((o) => o.state !== 'unowned');
    if (this.session !== undefined) this.logger.warn(messages.sessionLost(this.name, owned.length));
    else this.logger.log(messages.joined(this.name, this.identity, session));
    this.session = session;
    this.unanswered.clear();
    for (const o of owned) {
      this.records.forget(o.name);
      o.lost(undefined);
    }
  }

  private confirm(sent: number): void {
    const until = sent + this.options.renewDeadline;
    if (until <= this.clock.now()) return;
    const reopened = !this.valid(this.clock.now());
    this.validUntil = until;
    this.deadline.at(until);
    if (reopened)
      for (const o of this.ownerships.values()) if (o.state === 'owned') o.loop?.gateChanged();
  }

  /** The renew deadline passed: the owned loops stand by until a heartbeat is confirmed. */
  private expire(): void {
    this.validUntil = -Infinity;
    const owned = [...this.ownerships.values()].filter((o) => o.state === 'owned');
    if (owned.length > 0) this.logger.warn(messages.deadline(this.name, owned.length));
    for (const o of owned) o.loop?.gateChanged();
  }

  /** Hands over the loops placed elsewhere and claims those placed here. */
  private async rebalance(signal: AbortSignal): Promise<void> {
    const spread = this.view.placement();
    const leads = this.elector?.isLeader === true;
    const leader = leads ? this.identity : this.elector?.knownLeader;
    const ownerOf = (o: LoopOwnership): string | undefined =>
      o.placement === 'leader' ? leader : spread.get(o.name);
    const claim: LoopOwnership[] = [];
    const hand: LoopOwnership[] = [];
    const again: LoopOwnership[] = [];
    for (const o of this.unreleased) {
      this.unreleased.delete(o);
      if (this.ownerships.get(o.name) !== o || o.state !== 'draining') continue;
      // Placed here again: still ours in the store, with the same token.
      if (ownerOf(o) === this.identity) o.reclaimed();
      else again.push(o);
    }
    if (again.length > 0) void this.release(again);
    for (const o of this.ownerships.values()) {
      const owner = ownerOf(o);
      if (owner === this.identity) {
        if (o.state === 'unowned') claim.push(o);
      } else if (o.state === 'owned') {
        hand.push(o);
      } else if (o.state === 'unowned' && this.unanswered.has(o)) {
        claim.push(o);
      } else if (o.state === 'unowned' && owner !== undefined) {
        o.owner = owner;
      }
    }
    if (hand.length > 0) this.handOver(hand);
    if (claim.length === 0 || !this.valid(this.clock.now())) return;
    await this.claim(claim, signal);
    // Found ours, though placed elsewhere (an earlier claim landed unanswered): handed over.
    const found = claim.filter((o) => o.state === 'owned' && ownerOf(o) !== this.identity);
    if (found.length > 0) this.handOver(found);
    // A new leader whose predecessor crashed finds the loops still its predecessor's until that
    // member lease ends, up to a retry period after the election's lease did: asked again soon.
    const refused = claim.some((o) => o.placement === 'leader' && o.state === 'unowned');
    if (refused && leads && !this.soon.armed) this.soon.after(this.options.retryPeriod / 4);
  }

  private async claim(loops: LoopOwnership[], signal: AbortSignal): Promise<void> {
    const session = this.session!;
    const timeout = Math.max(1, this.validUntil - this.clock.now());
    const names = loops.map((o) => o.name);
    let results;
    try {
      const call = () =>
        this.store.claimLoops(this.name, this.identity, session, names, { timeout });
      results = await storeCall(call, 'claimLoops', timeout, this.clock, signal);
    } catch (error) {
      // The claims may have landed: the next claim, by the same session, finds them ours.
      if (session === this.session) for (const o of loops) this.unanswered.add(o);
      return this.failures.failed('claimLoops', error, signal);
    }
    if (session !== this.session || this.retiring) return;
    const at = this.clock.now();
    for (const [i, result] of results.entries()) {
      const o = loops[i];
      this.unanswered.delete(o);
      if (this.ownerships.get(o.name) !== o || o.state !== 'unowned') continue;
      if (result.claimed) o.claimed(this.identity, result.token, result.lastRun, at);
      else o.owner = result.owner;
    }
  }

  /** Drains each loop (its gate closes, its run settles), then releases it with its last run. */
  private handOver(loops: LoopOwnership[]): void {
    for (const o of loops) o.drain();
    const idle: LoopOwnership[] = [];
    const busy: LoopOwnership[] = [];
    for (const o of loops) (isBusy(o) ? busy : idle).push(o);
    if (idle.length > 0) void this.release(idle);
    for (const o of busy) {
      void o.loop!.idle().then(() => (o.state === 'draining' ? this.releaseIdle(o) : undefined));
    }
  }

  /**
   * Releases a drained loop whose run has settled: with the others that settle while a release
   * is in flight, in one call (one call a loop, after an outage when all of them ran at once,
   * queued hundreds of statements in front of the heartbeat on PostgreSQL).
   */
  private releaseIdle(o: LoopOwnership): void {
    this.settled.add(o);
    if (this.releasingSettled) return;
    this.releasingSettled = true;
    const run = (async () => {
      while (this.settled.size > 0) {
        const batch = [...this.settled].filter((x) => x.state === 'draining');
        this.settled.clear();
        if (batch.length > 0) await this.release(batch);
      }
      this.releasingSettled = false;
    })();
    this.releasing.add(run);
    void run.finally(() => this.releasing.delete(run));
  }

  private release(loops: LoopOwnership[]): Promise<void> {
    const owned = loops.filter((o) => o.token !== undefined);
    const now = this.clock.now();
    const names = owned.map((o) => o.name);
    const runs = this.records.take(now, names, this.reportOf).runs;
    const items = owned.map((o) => ({ loop: o.name, token: o.token! }));
    const timeout = this.options.renewDeadline;
    const call = (): Promise<readonly string[]> =>
      this.store.releaseLoops(this.name, this.identity, items, runs, { timeout });
    const never = new AbortController().signal;
    const pending = storeCall(call, 'releaseLoops', timeout, this.clock, never).then(
      () => {
        for (const o of owned) {
          this.records.forget(o.name);
          if (o.state === 'draining') o.lost(undefined);
        }
      },
      (error: unknown) => {
        // Still ours in the store (or not: the answer was lost): the next heartbeat decides.
        this.logger.warn(messages.releaseFailed(this.name, owned.length, describe(error)));
        for (const o of owned) if (o.state === 'draining') this.unreleased.add(o);
      },
    );
    this.releasing.add(pending);
    void pending.finally(() => this.releasing.delete(pending));
    return pending;
  }

  private async leave(left: boolean, bound: number): Promise<void> {
    this.retiring = true;
    this.life.abort();
    const began = this.clock.now();
    await this.loop.stop();
    await Promise.all(this.releasing);
    await this.watch.close().catch(() => undefined);
    this.deadline.cancel();
    this.soon.cancel();
    const session = this.session;
    if (session === undefined) return;
    const busy = [...this.ownerships.values()].filter((o) => o.state !== 'unowned' && isBusy(o));
    if (!left || busy.length > 0) {
      this.logger.warn(
        messages.notLeft(
          this.name,
          busy.map((o) => o.name),
        ),
      );
      return;
    }
    const owned = [...this.ownerships.values()].filter((o) => o.state !== 'unowned').length;
    const timeout = Math.max(1, began + bound - this.clock.now());
    const runs = this.records.take(this.clock.now(), undefined, this.reportOf).runs;
    try {
      const call = () => this.store.leave(this.name, this.identity, session, runs, { timeout });
      await storeCall(call, 'leave', timeout, this.clock, new AbortController().signal);
      this.logger.log(messages.left(this.name, owned));
    } catch (error) {
      this.logger.warn(messages.leaveFailed(this.name, describe(error)));
    }
    this.validUntil = -Infinity;
  }
}

const NO_RUNS: Sent = { runs: [], versions: new Map() };

function* spreadNames(ownerships: Iterable<LoopOwnership>): Iterable<string> {
  for (const o of ownerships) if (o.placement === 'spread') yield o.name;
}

function isBusy(o: LoopOwnership): boolean {
  return o.loop?.inFlight === true;
}
