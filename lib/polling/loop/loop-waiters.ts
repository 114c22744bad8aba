type Resolve = () => void;

/**
 * The trigger() and stop() calls waiting on a managed loop. Made on a loop's first such call, so
 * that the many loops nobody waits on carry one empty field. Internal.
 */
export class LoopWaiters {
  /** trigger() calls waiting for the next run to start. */
  private next: Resolve[] | undefined = undefined;
  /** trigger() calls served by the run in flight, waiting for it to settle. */
  private current: Resolve[] | undefined = undefined;
  /** stop() calls waiting for the session to end. */
  private end: Resolve[] | undefined = undefined;
  /** trigger() calls made while a stop settles: served by the next session's first run. */
  private afterStop: Resolve[] | undefined = undefined;

  /** A trigger() to be served by the next run. */
  forNextRun(): Promise<void> {
    return new Promise((resolve) => (this.next ??= []).push(resolve));
  }

  /** A trigger() made while a stop settles. */
  afterTheStop(): Promise<void> {
    return new Promise((resolve) => (this.afterStop ??= []).push(resolve));
  }

  /** A stop() waiting for the session to end. */
  forTheEnd(): Promise<void> {
    return new Promise((resolve) => (this.end ??= []).push(resolve));
  }

  /** A run starts: the triggers waiting for it now wait for it to settle. */
  runStarted(): void {
    if (this.next === undefined) return;
    this.current = this.next;
    this.next = undefined;
  }

  /** The run in flight settled: the triggers it served resolve. */
  runSettled(): void {
    const waiters = this.current;
    this.current = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve();
  }

  /** stop() again: the triggers made during an earlier stop resolve without a run. */
  stopAgain(): void {
    if (this.afterStop === undefined) return;
    (this.end ??= []).push(...this.afterStop);
    this.afterStop = undefined;
  }

  /**
   * The session ended: returns the calls that resolve without a run (stops, and triggers the
   * session did not serve), and whether triggers made during its stop wait for a next run, which
   * then serves them.
   */
  sessionEnded(): { done: Resolve[]; pending: boolean } {
    const done = [...(this.end ?? []), ...(this.next ?? [])];
    this.end = this.next = undefined;
    const pending = this.afterStop;
    this.afterStop = undefined;
    if (pending !== undefined) this.next = pending;
    return { done, pending: pending !== undefined };
  }
}
