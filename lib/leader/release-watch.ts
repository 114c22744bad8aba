import type { ElectorLogger } from './elector-settings.js';
import { describe, messages } from './leader-messages.js';
import type { LeaseStore, LeaseWatch } from './lease-store.js';

/**
 * The elector's subscription to the release announcements of its lease, for stores that make
 * them ({@link LeaseStore.watch}): kept up by {@link keep} on every try, and subscribed again
 * once lost. A failure to subscribe is logged once until a subscription succeeds. Internal.
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
    private readonly store: LeaseStore,
    private readonly name: string,
    private readonly logger: ElectorLogger,
    private readonly released: () => void,
    private readonly stopping: () => boolean,
  ) {}

  /** Subscribes, unless subscribed or subscribing already; never waits for it. */
  keep(): void {
    const store = this.store;
    if (store.watch === undefined || this.watching !== undefined) return;
    if (this.watch?.active === true) return;
    // A function of its own per subscription: a store may key its listeners by it.
    const released = (): void => this.released();
    this.watching = store.watch(this.name, released).then(
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
