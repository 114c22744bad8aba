import { type Clock, Deadline } from '../wait/internal.js';
import { messages } from './leader-messages.js';

/** A lease store call that did not answer in time; the elector treats it as failed. */
export class LeaseStoreTimeoutError extends Error {
  override readonly name = 'LeaseStoreTimeoutError';
}

/**
 * `call`'s promise, or a rejection when it has not settled within `ms` on `clock` or when
 * `signal` aborts. A store may hang for as long as its server does (a paused Redis, a locked row);
 * the elector must still meet its renew deadline, so it stops waiting. What the call settles
 * with later is dropped, never an unhandled rejection. Internal.
 */
export function storeCall<T>(
  call: () => Promise<T>,
  operation: string,
  ms: number,
  clock: Clock,
  signal: AbortSignal,
): Promise<T> {
  // The store's error and the signal's reason are passed on as they are, Errors or not.
  /* eslint-disable @typescript-eslint/prefer-promise-reject-errors */
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      deadline.cancel();
      signal.removeEventListener('abort', aborted);
    };
    const deadline = new Deadline(clock, () => {
      done();
      reject(new LeaseStoreTimeoutError(messages.timeout(operation, ms)));
    });
    const aborted = (): void => {
      done();
      reject(signal.reason);
    };
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', aborted, { once: true });
    deadline.after(ms);
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(call());
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
  /* eslint-enable @typescript-eslint/prefer-promise-reject-errors */
}
