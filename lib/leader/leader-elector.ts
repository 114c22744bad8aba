import type { Observable } from 'rxjs';
import { Deadline, realClock, type Clock } from '../wait/internal.js';
import { ElectorLoop } from './elector-loop.js';
import type { ElectorLogger, LeaderElectorSettings } from './elector-settings.js';
import { shutDown, type ShutdownParts } from './elector-shutdown.js';
import {
  ACQUIRE_JITTER,
  checkLeaderElection,
  type CheckedLeaderElectionOptions,
  type LeaderElectionOptions,
} from './leader-election-options.js';
import { messages } from './leader-messages.js';
import { LeadershipFeed, type Leadership } from './leadership.js';
import type { AcquireResult, Lease, LeaseStore } from './lease-store.js';
import { InMemoryLeaseStore } from './memory-lease-store.js';
import { ReleaseWatch } from './release-watch.js';
import { SentCalls } from './sent-call.js';
import { storeCall } from './store-call.js';
import { StoreFailures } from './store-failures.js';

/** A loop that runs only while this replica leads: told whenever leadership may have changed. */
export interface GatedLoop {
  gateChanged(): void;
}

/**
 * Client-go's leader election on the engine's own loop: a follower tries to acquire the lease
 * every `retryPeriod` with 1.2 jitter; the leader renews it every `retryPeriod` and gives up
 * leading when no renewal was confirmed for `renewDeadline` (counted from when the confirmed call
 * was sent, so a slow answer never extends it). Leader-only loops run only while {@link admit}
 * says so: checked before every run, so the elector fails closed when the store is unreachable.
 * A release announced by the store makes a follower try at once.
 *
 * `WaitModule` creates one from its `leaderElection` option and provides it for injection.
 */
export class LeaderElector {
  /** This replica's identity in the lease. */
  readonly identity: string;
  /** The lease's name. */
  readonly name: string;
  /** The current {@link Leadership} on subscription, then every change of it. */
  readonly leadership$: Observable<Leadership>;
  private readonly options: CheckedLeaderElectionOptions;
  private readonly store: LeaseStore;
  private readonly clock: Clock;
  private readonly logger: ElectorLogger;
  private readonly loop: ElectorLoop;
  private readonly feed: LeadershipFeed;
  /** The latest acquire or renew sent, with what it settled with (even after giving up on it). */
  private readonly calls: SentCalls;
  private readonly watch: ReleaseWatch;
  private readonly failures: StoreFailures;
  /** Loops that run only while this replica leads. */
  private readonly gated = new Set<GatedLoop>();
  /** Ends the term when no renewal was confirmed within the renew deadline. */
  private readonly deadline: Deadline;
  /** The term this replica holds, or held until it lost track of it. */
  private term: Lease | undefined = undefined;
  private leading = false;
  /** Clock time until which the last confirmed renewal lets this replica lead. */
  private validUntil = -Infinity;
  private leader: string | undefined = undefined;
  /** Clock time of the latest store answer that showed another replica holding the lease. */
  private leaderSeenAt = -Infinity;
  private untrustedSeen = false;
  private stopping: Promise<void> | undefined = undefined;
  /** Set when shutdown begins: no acquire is sent from then on. */
  private retiring = false;

  /** @param options - see {@link LeaderElectionOptions} for defaults; checked here. */
  constructor(options: LeaderElectionOptions, settings: LeaderElectorSettings = {}) {
    this.options = checkLeaderElection(options, 'new LeaderElector()');
    this.clock = settings.clock ?? realClock;
    this.deadline = new Deadline(this.clock, () =>
      this.lose('no renewal confirmed within the renew deadline'),
    );
    this.logger = settings.logger ?? console;
    this.store = this.options.store ?? new InMemoryLeaseStore(this.clock);
    this.identity = this.options.identity;
    this.name = this.options.name;
    this.feed = new LeadershipFeed(this.snapshot());
    this.leadership$ = this.feed.leadership$;
    const { retryPeriod } = this.options;
    this.loop = new ElectorLoop(
      (signal) => this.tick(signal),
      retryPeriod,
      ACQUIRE_JITTER,
      this.clock,
      settings.random ?? Math.random,
    );
    this.calls = new SentCalls(this.clock);
    const released = (): void => {
      if (!this.leading && this.stopping === undefined) this.loop.trigger();
    };
    const stopping = (): boolean => this.stopping !== undefined;
    const subscribe = this.store.watch?.bind(this.store, this.name);
    this.watch = new ReleaseWatch(subscribe, this.name, this.logger, released, stopping);
    this.failures = new StoreFailures(this.name, retryPeriod, this.logger);
  }

  /** Whether this replica leads now. */
  get isLeader(): boolean {
    return this.admit(this.clock.now()) !== undefined;
  }

  /** The leader's identity as last seen in the store (this replica's when it leads). */
  get leaderIdentity(): string | undefined {
    return this.leader;
  }

  /**
   * The leader's identity as far as the store's latest answer can still be true: this replica's
   * while it leads ({@link isLeader}); on a follower, the holder its latest answered acquire saw,
   * until a lease duration plus the longest wait between two acquires (`retryPeriod * 2.2`) has
   * passed since that answer without another (by then the lease has expired, or been renewed
   * where this replica cannot see it). `undefined` otherwise: no leader seen, or the store has not
   * answered for that long. {@link leaderIdentity} keeps the last one seen, however old.
   */
  get knownLeader(): string | undefined {
    const now = this.clock.now();
    if (this.admit(now) !== undefined) return this.identity;
    if (this.leader === undefined || this.leader === this.identity) return undefined;
    const { leaseDuration, retryPeriod } = this.options;
    const fresh = now - this.leaderSeenAt < leaseDuration + retryPeriod * (1 + ACQUIRE_JITTER);
    return fresh ? this.leader : undefined;
  }

  /** The fencing token of this replica's term while it leads. */
  get fencingToken(): number | undefined {
    return this.admit(this.clock.now());
  }

  /** LoopGate: the term's token while this replica leads at `now`. */
  admit(now: number): number | undefined {
    return this.leading && now < this.validUntil ? this.term!.token : undefined;
  }

  /** Starts competing for the lease (the first attempt at once). Idempotent. */
  start(): void {
    if (this.stopping !== undefined) return;
    this.logger.log(messages.started(this.name, this.identity));
    this.loop.start();
  }

  /** @internal The registry's: `loop` runs only while this replica leads. */
  attach(loop: GatedLoop): void {
    this.gated.add(loop);
  }

  /** @internal The registry's: `loop` was removed. */
  detach(loop: GatedLoop): void {
    this.gated.delete(loop);
  }

  /**
   * @internal The registry's, when shutdown begins: sends no more acquires, so a replica that is
   * shutting down never takes the lease. A leader goes on renewing while its leader-only runs
   * settle: letting the lease lapse under a run still in flight would let a successor overlap
   * it.
   */
  retire(): void {
    this.retiring = true;
  }

  /**
   * Stops competing: stops leading, waits for the store call in flight (so that a lease it took
   * is known and released), and (with `release`) releases the lease so that a follower takes
   * over at once. Stop the leader-only loops first and wait for their runs: a lease released
   * under a run still in flight lets two leaders overlap. Closes the store. Everything it waits
   * for is bounded by `timeout` ms, or `retryPeriod` if longer (default: `retryPeriod`); past
   * it the store is closed without waiting and the lease, if still held, expires by itself.
   * Idempotent.
   */
  stop(release: boolean, timeout = 0): Promise<void> {
    const bound = Math.max(timeout, this.options.retryPeriod);
    return (this.stopping ??= shutDown(this.shutdownParts(), release, bound));
  }

  /** The elector's parts for {@link shutDown}, with the steps on its own state. */
  private shutdownParts(): ShutdownParts {
    const { name, identity, clock, store, logger, calls, watch, loop, feed } = this;
    const { retryPeriod } = this.options;
    return {
      name,
      identity,
      retryPeriod,
      clock,
      store,
      logger,
      calls,
      watch,
      loop,
      feed,
      retire: () => this.retire(),
      stepDown: () => {
        const term = this.term;
        this.lose(undefined);
        return term;
      },
      forgetTerm: () => void (this.term = undefined),
    };
  }

  private async tick(signal: AbortSignal): Promise<void> {
    if (this.retiring) {
      if (this.leading) await this.renew(signal);
      return;
    }
    this.watch.keep();
    if (this.leading) await this.renew(signal);
    else await this.acquire(signal);
  }

  private async acquire(signal: AbortSignal): Promise<void> {
    const { name, identity, options, clock } = this;
    const sent = clock.now();
    let result: AcquireResult;
    try {
      const timeout = options.renewDeadline;
      const call = (): Promise<AcquireResult> =>
        this.calls.send(timeout, () =>
          this.store.acquire(name, identity, options.leaseDuration, { timeout }),
        );
      result = await storeCall(call, 'acquire', timeout, clock, signal);
    } catch (error) {
      return this.failures.failed('acquire', error, signal);
    }
    this.failures.answered();
    if (result.acquired) {
      this.term = result.lease;
      // Sent before shutdown began: kept to be released, never led.
      if (!this.retiring) this.confirm(sent);
      return;
    }
    this.term = undefined;
    if (result.holder === undefined) {
      if (!this.untrustedSeen) this.logger.warn(messages.untrusted(name));
      this.untrustedSeen = true;
    } else {
      this.untrustedSeen = false;
      this.leaderSeenAt = clock.now();
    }
    this.seeLeader(result.holder);
  }

  private async renew(signal: AbortSignal): Promise<void> {
    const term = this.term!;
    const sent = this.clock.now();
    let renewed: boolean;
    try {
      // An answer after the deadline could not keep this replica leading anyway.
      const ms = Math.max(1, this.validUntil - sent);
      const call = (): Promise<boolean> =>
        this.calls.send(ms, () =>
          this.store.renew(this.name, term, this.options.leaseDuration, { timeout: ms }),
        );
      renewed = await storeCall(call, 'renew', ms, this.clock, signal);
    } catch (error) {
      // The deadline timer ends the term if no renewal gets through in time.
      return this.failures.failed('renew', error, signal);
    }
    this.failures.answered();
    if (term !== this.term) return;
    if (renewed) return this.confirm(sent);
    this.term = undefined;
    this.lose('the lease was taken over or expired');
    this.seeLeader(undefined);
  }

  /** The store confirmed the term with a call sent at `sent`: lead until `sent + renewDeadline`. */
  private confirm(sent: number): void {
    const until = sent + this.options.renewDeadline;
    if (until <= this.clock.now() || this.stopping !== undefined) return;
    this.validUntil = until;
    this.deadline.at(until);
    if (!this.leading) {
      this.leading = true;
      this.loop.setJitter(0);
      this.logger.log(messages.leading(this.name, this.term!.token));
    }
    this.leader = this.identity;
    this.publish();
    // Also on every renewal: a loop whose run found the term ended just before it was renewed
    // stands by until told.
    for (const loop of this.gated) loop.gateChanged();
  }

  /** Stops leading; `reason` undefined: on purpose (shutdown), not worth a warning. */
  private lose(reason: string | undefined): void {
    if (!this.leading) return;
    this.leading = false;
    this.validUntil = -Infinity;
    this.deadline.cancel();
    this.loop.setJitter(ACQUIRE_JITTER);
    if (reason === undefined) this.logger.log(messages.stepDown(this.name));
    else this.logger.warn(messages.lost(this.name, reason));
    if (this.leader === this.identity) this.leader = undefined;
    for (const loop of this.gated) loop.gateChanged();
    this.publish();
  }

  private seeLeader(holder: string | undefined): void {
    if (holder === this.leader) return;
    this.leader = holder;
    if (holder !== undefined) this.logger.log(messages.newLeader(this.name, holder));
    this.publish();
  }

  private publish(): void {
    this.feed.publish(this.snapshot());
  }

  private snapshot(): Leadership {
    return {
      leading: this.leading,
      identity: this.identity,
      leader: this.leader,
      fencingToken: this.leading ? this.term!.token : undefined,
    };
  }
}
