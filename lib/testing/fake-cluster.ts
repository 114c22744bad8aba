import type { Clock, Duration } from '../wait/internal.js';
import type { ClusterOptions, Placement } from '../cluster/cluster-options.js';
import type { ClusterStore } from '../cluster/cluster-store.js';
import { InMemoryLeaseStore } from '../leader/memory-lease-store.js';
import { FakeClock } from './fake-clock.js';
import { ReplicaClock, type Link } from './replica-clock.js';
import { ReplicaStore } from './replica-store.js';
import { testingMessages } from './testing.messages.js';

/** The timings of a {@link FakeCluster}'s replicas; each has a default. */
export interface FakeClusterOptions {
  /** The cluster's (and its leader lease's) name. Default `'fake-cluster'`. */
  name?: string;
  /** The shared clock's start, ms. Default 0. */
  start?: number;
  /** Default `'15s'`, as `cluster.leaseDuration`. */
  leaseDuration?: Duration;
  /** Default `'10s'`. */
  renewDeadline?: Duration;
  /** Default `'2s'`. */
  retryPeriod?: Duration;
}

/**
 * Several replicas of an app in one Jest process: one {@link FakeClock} and one in-memory store
 * that they share, each replica reaching them through a link of its own that a test can break.
 * Boot one Nest app per replica with `WaitModule.forRoot({ ...replica.options(), ... })`, then
 * move time with `cluster.clock.advance()`:
 *
 * - {@link FakeReplica.crash}: the replica stops for good (SIGKILL): none of its timers fires
 *   again, none of its calls reaches the store, no answer reaches it;
 * - {@link FakeReplica.pause} / {@link FakeReplica.resume}: SIGSTOP and SIGCONT: its timers and
 *   the answers meant for it wait, and all come at once on resume;
 * - {@link FakeReplica.partition} / {@link FakeReplica.heal}: the network between it and the
 *   store is cut: its calls never arrive, answers and announcements are lost; it keeps running.
 */
export class FakeCluster {
  /** The time of every replica. */
  readonly clock: FakeClock;
  /** The store every replica shares, seen without any link. */
  readonly store: InMemoryLeaseStore;
  readonly name: string;
  private readonly timings: Pick<ClusterOptions, 'leaseDuration' | 'renewDeadline' | 'retryPeriod'>;
  private readonly replicas = new Map<string, FakeReplica>();

  /** @param options - see {@link FakeClusterOptions} for defaults. */
  constructor(options: FakeClusterOptions = {}) {
    this.clock = new FakeClock(options.start ?? 0);
    this.store = new InMemoryLeaseStore(this.clock);
    this.name = options.name ?? 'fake-cluster';
    const { leaseDuration, renewDeadline, retryPeriod } = options;
    this.timings = { leaseDuration, renewDeadline, retryPeriod };
  }

  /** A new replica named `identity` (unique in the cluster). */
  replica(identity: string): FakeReplica {
    if (typeof identity !== 'string' || identity.length === 0 || this.replicas.has(identity)) {
      throw new TypeError(testingMessages.replica(identity));
    }
    const replica = new FakeReplica(identity, this.name, this.clock, this.store, this.timings);
    this.replicas.set(identity, replica);
    return replica;
  }
}

/** One replica of a {@link FakeCluster}: its clock, its link to the store, and its faults. */
export class FakeReplica {
  /** The replica's view of the shared clock: frozen while it is paused, dead once crashed. */
  readonly clock: Clock;
  /** The replica's link to the shared store. */
  readonly store: ClusterStore;
  private readonly link: Link;

  constructor(
    readonly identity: string,
    private readonly name: string,
    shared: FakeClock,
    store: InMemoryLeaseStore,
    private readonly timings: Pick<
      ClusterOptions,
      'leaseDuration' | 'renewDeadline' | 'retryPeriod'
    >,
  ) {
    this.link = { state: 'up', held: [], epoch: 0, identity };
    this.clock = new ReplicaClock(shared, this.link);
    this.store = new ReplicaStore(store, this.link);
  }

  /** `'up'`, `'paused'`, `'partitioned'` or `'crashed'`. */
  get state(): Link['state'] {
    return this.link.state;
  }

  /**
   * What to spread into `WaitModule.forRoot()`: `clock`, and `cluster` with this replica's store
   * link, identity and the cluster's timings; `placement` is the module's default placement.
   */
  options(placement?: Placement): { clock: Clock; cluster: ClusterOptions } {
    const cluster: ClusterOptions = {
      store: this.store,
      name: this.name,
      identity: this.identity,
      ...defined(this.timings),
      ...(placement === undefined ? {} : { placement }),
    };
    return { clock: this.clock, cluster };
  }

  /** SIGKILL: nothing of this replica happens again. */
  crash(): void {
    this.link.state = 'crashed';
    this.link.epoch++;
    this.link.held.length = 0;
  }

  /** SIGSTOP: its timers and the answers for it wait until {@link resume}. */
  pause(): void {
    this.expect('up', 'pause');
    this.link.state = 'paused';
  }

  /** SIGCONT: what waited happens now, in order. */
  resume(): void {
    this.expect('paused', 'resume');
    this.link.state = 'up';
    const held = this.link.held.splice(0);
    for (const run of held) run();
  }

  /** Cuts the network to the store: calls never arrive, answers and announcements are lost. */
  partition(): void {
    this.expect('up', 'partition');
    this.link.state = 'partitioned';
    this.link.epoch++;
  }

  /** Mends the network; calls lost meanwhile stay lost. */
  heal(): void {
    this.expect('partitioned', 'heal');
    this.link.state = 'up';
  }

  private expect(state: Link['state'], what: string): void {
    if (this.link.state !== state) {
      throw new Error(testingMessages.replicaState(this.identity, what, this.link.state));
    }
  }
}

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
