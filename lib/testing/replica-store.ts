import type { ClusterStore } from '../cluster/cluster-store.js';
import type { LeaseWatch } from '../leader/lease-store.js';
import type { Link } from './replica-clock.js';
import { testingMessages } from './testing.messages.js';

const CALLS = [
  'acquire',
  'renew',
  'release',
  'heartbeat',
  'memberLoops',
  'claimLoops',
  'releaseLoops',
  'leave',
] as const;

/**
 * A replica's link to a shared store: a call made while the link is down never arrives; an
 * answer that arrives while the replica is paused waits for its resume, and one that arrives
 * while it is partitioned or crashed is lost (the call took effect; the replica never hears).
 * Announcements follow the same rules. `close()` leaves the shared store open. Internal.
 */
export function replicaStore(store: ClusterStore, link: Link): ClusterStore {
  const deliver = (run: () => void): void => {
    if (link.state === 'up') run();
    else if (link.state === 'paused') link.held.push(run);
  };
  const through =
    (call: (...args: never[]) => Promise<unknown>) =>
    (...args: never[]): Promise<unknown> => {
      if (link.state !== 'up') return new Promise(() => undefined);
      return new Promise((resolve, reject) => {
        call.apply(store, args).then(
          (value) => deliver(() => resolve(value)),
          (error: unknown) => deliver(() => reject(error as Error)),
        );
      });
    };
  const linked: Record<string, unknown> = {};
  for (const name of CALLS) linked[name] = through(store[name] as never);
  // A subscription fails while the link is down, and is lost (inactive) once it breaks.
  const watchThrough =
    (watch: (name: string, cb: () => void) => Promise<LeaseWatch>) =>
    async (name: string, cb: () => void): Promise<LeaseWatch> => {
      if (link.state === 'partitioned' || link.state === 'crashed') {
        throw new Error(testingMessages.linkDown(link.identity));
      }
      const epoch = link.epoch;
      const inner = await watch.call(store, name, () => {
        if (link.epoch === epoch) deliver(cb);
      });
      return {
        get active() {
          return inner.active && link.epoch === epoch;
        },
        close: () => inner.close(),
      };
    };
  linked.watch = watchThrough(store.watch!);
  linked.watchCluster = watchThrough(store.watchCluster!);
  linked.close = () => Promise.resolve();
  return linked as unknown as ClusterStore;
}
