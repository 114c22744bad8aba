import type { Clock } from '../wait/internal.js';

/** The state of a fake replica's process and network, shared by its clock and store link. Internal. */
export interface Link {
  state: 'up' | 'paused' | 'partitioned' | 'crashed';
  /** Bumped when the link breaks: subscriptions made before are lost. */
  epoch: number;
  readonly identity: string;
  /** What waits for the replica to resume: timers that came due, answers that arrived. */
  readonly held: (() => void)[];
}

/**
 * A replica's view of a shared clock: the same time, but its timers do not fire while it is
 * paused (they fire on resume) or once it crashed. Internal.
 */
export class ReplicaClock implements Clock {
  constructor(
    private readonly shared: Clock,
    private readonly link: Link,
  ) {}

  now(): number {
    return this.shared.now();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const handle = { cleared: false, inner: undefined as unknown };
    handle.inner = this.shared.setTimeout(() => {
      const run = (): void => {
        if (!handle.cleared && this.link.state !== 'crashed') fn();
      };
      if (this.link.state === 'paused') this.link.held.push(run);
      else run();
    }, ms);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    const h = handle as { cleared: boolean; inner: unknown } | undefined;
    if (h === undefined || h === null) return;
    h.cleared = true;
    this.shared.clearTimeout(h.inner);
  }
}
