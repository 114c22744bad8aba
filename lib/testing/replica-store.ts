import type {
  ClusterStore,
  ControlChange,
  Heartbeat,
  OwnedLoop,
  RunRecord,
} from '../cluster/cluster-store.js';
import type { Lease, LeaseCallOptions, LeaseWatch } from '../leader/lease-store.js';
import type { Link } from './replica-clock.js';
import { testingMessages } from './testing.messages.js';

/**
 * A replica's link to a shared store: a call made while the link is down never arrives; an
 * answer that arrives while the replica is paused waits for its resume, and one that arrives
 * while it is partitioned or crashed is lost (the call took effect; the replica never hears).
 * Announcements follow the same rules. `close()` leaves the shared store open. Internal.
 */
export class ReplicaStore implements ClusterStore {
  constructor(
    private readonly store: ClusterStore,
    private readonly link: Link,
  ) {}

  acquire(name: string, identity: string, ttl: number, options?: LeaseCallOptions) {
    return this.through(() => this.store.acquire(name, identity, ttl, options));
  }
  renew(name: string, lease: Lease, ttl: number, options?: LeaseCallOptions) {
    return this.through(() => this.store.renew(name, lease, ttl, options));
  }
  release(name: string, lease: Lease, options?: LeaseCallOptions) {
    return this.through(() => this.store.release(name, lease, options));
  }
  heartbeat(cluster: string, beat: Heartbeat, options?: LeaseCallOptions) {
    return this.through(() => this.store.heartbeat(cluster, beat, options));
  }
  memberLoops(cluster: string, identity: string, digest: string, options?: LeaseCallOptions) {
    return this.through(() => this.store.memberLoops(cluster, identity, digest, options));
  }
  claimLoops(
    cluster: string,
    identity: string,
    session: number,
    loops: readonly string[],
    options?: LeaseCallOptions,
  ) {
    return this.through(() => this.store.claimLoops(cluster, identity, session, loops, options));
  }
  releaseLoops(
    cluster: string,
    identity: string,
    loops: readonly OwnedLoop[],
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ) {
    return this.through(() => this.store.releaseLoops(cluster, identity, loops, runs, options));
  }
  leave(
    cluster: string,
    identity: string,
    session: number,
    runs: readonly RunRecord[],
    options?: LeaseCallOptions,
  ) {
    return this.through(() => this.store.leave(cluster, identity, session, runs, options));
  }
  controlLoop(cluster: string, loop: string, change: ControlChange, options?: LeaseCallOptions) {
    return this.through(() => this.store.controlLoop(cluster, loop, change, options));
  }
  controls(cluster: string, options?: LeaseCallOptions) {
    return this.through(() => this.store.controls(cluster, options));
  }
  loopRuns(cluster: string, loops?: readonly string[], options?: LeaseCallOptions) {
    return this.through(() => this.store.loopRuns(cluster, loops, options));
  }
  watch(name: string, onReleased: () => void): Promise<LeaseWatch> {
    return this.subscribe(onReleased, (cb) => this.store.watch!(name, cb));
  }
  watchCluster(cluster: string, onChange: () => void): Promise<LeaseWatch> {
    return this.subscribe(onChange, (cb) => this.store.watchCluster!(cluster, cb));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }

  private deliver(run: () => void): void {
    if (this.link.state === 'up') run();
    else if (this.link.state === 'paused') this.link.held.push(run);
  }

  private through<T>(call: () => Promise<T>): Promise<T> {
    if (this.link.state !== 'up') return new Promise<T>(() => undefined);
    return new Promise<T>((resolve, reject) => {
      call().then(
        (value) => this.deliver(() => resolve(value)),
        // The store's error is passed on as it is, an Error or not.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        (error: unknown) => this.deliver(() => reject(error)),
      );
    });
  }

  /** A subscription fails while the link is down, and is lost (inactive) once it breaks. */
  private async subscribe(
    callback: () => void,
    watch: (cb: () => void) => Promise<LeaseWatch>,
  ): Promise<LeaseWatch> {
    const link = this.link;
    if (link.state === 'partitioned' || link.state === 'crashed') {
      throw new Error(testingMessages.linkDown(link.identity));
    }
    const epoch = link.epoch;
    const inner = await watch(() => {
      if (link.epoch === epoch) this.deliver(callback);
    });
    return {
      get active() {
        return inner.active && link.epoch === epoch;
      },
      close: () => inner.close(),
    };
  }
}
