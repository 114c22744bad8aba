import { settleWithin, type Clock } from '../wait/internal.js';
import type { ElectorLoop } from './elector-loop.js';
import type { ElectorLogger } from './elector-settings.js';
import { describe, messages } from './leader-messages.js';
import type { LeadershipFeed } from './leadership.js';
import type { Lease, LeaseStore } from './lease-store.js';
import type { ReleaseWatch } from './release-watch.js';
import type { SentCalls } from './sent-call.js';
import { storeCall } from './store-call.js';

/** What the shutdown sequence works on: the elector's parts, and the steps only it can take. */
export interface ShutdownParts {
  readonly name: string;
  readonly identity: string;
  readonly retryPeriod: number;
  readonly clock: Clock;
  readonly store: LeaseStore;
  readonly logger: ElectorLogger;
  readonly calls: SentCalls;
  readonly watch: ReleaseWatch;
  /** Resolves once the try in flight has settled; no try runs after. */
  readonly loop: Pick<ElectorLoop, 'stop'>;
  readonly feed: Pick<LeadershipFeed, 'complete'>;
  /** Sends no more acquires. */
  retire(): void;
  /** Stops leading, on purpose; returns the term this replica knows it holds, if any. */
  stepDown(): Lease | undefined;
  /** Forgets the term: released, or left to expire. */
  forgetTerm(): void;
}

/**
 * The elector's shutdown, bounded by `timeout` ms: stops the loop, waits for the store call in
 * flight (so that a lease it took is known and released), stops leading, releases the lease
 * (with `release`), then closes the release watch and the store. Internal.
 */
export async function shutDown(
  parts: ShutdownParts,
  release: boolean,
  timeout: number,
): Promise<void> {
  const { clock, name, identity, logger } = parts;
  const end = clock.now() + timeout;
  const left = (): number => Math.max(0, end - clock.now());
  parts.retire();
  await parts.loop.stop();
  // The loop gave up on its call at once; the store may still answer, or a server that
  // waited on a lock may still write, until the call's own deadline.
  const last = parts.calls.latest;
  if (last !== undefined && !last.done) {
    const wait = Math.min(left(), last.deadline - clock.now());
    if (wait > 0) await settleWithin(last.settled, wait, clock);
  }
  // Unsure whether the last call took the lease: release every term of this identity.
  const unsure = last !== undefined && !last.done;
  const term = parts.stepDown() ?? last?.lease;
  if (release && (term !== undefined || unsure)) {
    const lease: Lease = term ?? { holder: identity, token: 0 };
    try {
      const ms = Math.min(parts.retryPeriod, left());
      // No deadline for the store: a release that lands late still only ends this identity's
      // terms, and it must land after any acquire still queued before it.
      const call = (): Promise<boolean> => parts.store.release(name, lease);
      if (await storeCall(call, 'release', ms, clock, new AbortController().signal)) {
        logger.log(messages.released(name));
      }
    } catch (error) {
      logger.warn(messages.releaseFailed(name, describe(error)));
    }
  }
  parts.forgetTerm();
  await closeQuietly(() => parts.watch.close(), left(), parts);
  // Called even with no time left: a store closes its connections without waiting then.
  await closeQuietly(() => parts.store.close?.(), left(), parts);
  parts.feed.complete();
}

/** Runs `close`, waiting for it no longer than `ms`; logs its failure. */
async function closeQuietly(
  close: () => Promise<void> | undefined,
  ms: number,
  { clock, logger }: ShutdownParts,
): Promise<void> {
  const closing = Promise.resolve()
    .then(close)
    .catch((error: unknown) => logger.warn(describe(error)));
  await settleWithin(closing, ms, clock);
}
