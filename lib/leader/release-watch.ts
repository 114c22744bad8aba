import type { ElectorLogger } from './elector-settings.js';
import { describe, messages } from './leader-messages.js';
import type { LeaseWatch } from './lease-store.js';

/** Subscribes `onReleased` to a store's announcements (`LeaseStore.watch`, `watchCluster`). */
export type Subscribe = (onReleased: () => void) => Promise<LeaseWatch>;

/**
 * A subscription to a store's announcements (a lease's releases for the elector, a cluster's
 * changes for its members), for stores that make them: kept up by {@link keep} on every try, and
 * subscribed again once lost. A failure to subscribe is logged once until a subscription
 * succeeds. Internal.
 */
export class ReleaseWatch {
  private watch: LeaseWatch | undefined = undefined;
  /** The subscription being made, until it settles. */
  private watching: Promise<unknown> | undefined = undefined;
  private failing = false;

  /**
   * @param released - called on every announced release.
   * @param stopping - whether shutdown has begun: a subscription made from then on is closed.
   */
  constructor(
    /** `undefined`: the store makes no announcements. */
    private readonly subscribe: Subscribe | undefined,
    private readonly name: string,
    private readonly logger: ElectorLogger,
    private readonly released: () => void,
    private readonly stopping: () => boolean,
  ) {}

  /** Subscribes, unless subscribed or subscribing already; never waits for it. */
  keep(): void {
    const subscribe = this.subscribe;
    if (subscribe === undefined || this.watching !== undefined) return;
    if (this.watch?.active === true) return;
    // A function of its own per subscription: a store may key its listeners by it.
    const released = (): void => this.released();
    this.watching = subscribe(released).then(
      (watch) => {
        this.watching = undefined;
        this.failing = false;
        if (this.stopping()) return watch.close();
        this.watch = watch;
      },
      (error: unknown) => {
        this.watching = undefined;
        if (!this.failing) this.logger.warn(messages.watchFailed(this.name, describe(error)));
        this.failing = true;
      },
    );
  }

  /** Waits for the subscription being made, then closes the subscription, if any. */
  async close(): Promise<void> {
    await this.watching;
    await this.watch?.close();
  }
}
