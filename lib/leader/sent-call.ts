import type { Clock } from '../wait/internal.js';
import type { AcquireResult, Lease } from './lease-store.js';

/** A store call as sent, whatever the elector made of it. Internal. */
export interface SentCall {
  /** Settles when the store answers or fails, never rejects. */
  settled: Promise<void>;
  done: boolean;
  /** Clock time after which the store no longer applies it (its timeout). */
  readonly deadline: number;
  /** The term an acquire took, even one that answered after the elector gave up on it. */
  lease: Lease | undefined;
}

/**
 * The latest acquire or renew the elector sent, with what it settled with, even after the
 * elector gave up on it: shutdown waits for it, and releases a term it took. Internal.
 */
export class SentCalls {
  private last: SentCall | undefined = undefined;

  constructor(private readonly clock: Clock) {}

  /** The latest call sent; `undefined` before the first. */
  get latest(): SentCall | undefined {
    return this.last;
  }

  /**
   * Makes `call`, which the store applies within `timeout` ms or never, and keeps it as
   * {@link latest} until a later one. Returns its promise as it is.
   */
  send<T>(timeout: number, call: () => Promise<T>): Promise<T> {
    const deadline = this.clock.now() + timeout;
    const sent: SentCall = { settled: Promise.resolve(), done: false, deadline, lease: undefined };
    const pending = call();
    sent.settled = pending.then(
      (result) => {
        sent.done = true;
        const taken = result as Partial<AcquireResult> | undefined;
        if (typeof taken === 'object' && taken?.acquired === true) sent.lease = taken.lease;
      },
      () => void (sent.done = true),
    );
    this.last = sent;
    return pending;
  }
}
