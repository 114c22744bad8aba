import { messages } from './wait.messages.js';

/**
 * Rejection of `poll` when its timeout passes, and of `exponentialBackoff` when its steps run out
 * (Go's `ErrWaitTimeout`). Message: `'timed out waiting for the condition'`.
 */
export class WaitTimeoutError extends Error {
  constructor(options?: { cause?: unknown }) {
    super(messages.timeout(), options);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Go's `wait.Interrupted`: true when `error` says that waiting was cut short rather than failed:
 * a {@link WaitTimeoutError}, or an abort (`AbortError` or `TimeoutError`, as `AbortSignal`
 * produces), itself or anywhere along its `cause` chain.
 */
export function isInterrupted(error: unknown): boolean {
  const seen = new Set<unknown>();
  while (typeof error === 'object' && error !== null && !seen.has(error)) {
    if (error instanceof WaitTimeoutError) return true;
    const name = (error as { name?: unknown }).name;
    if (name === 'AbortError' || name === 'TimeoutError') return true;
    seen.add(error);
    error = (error as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * What a loop's run counts as having failed with when it takes longer than the loop's `timeout`:
 * its `ctx.signal` aborts with this error as the reason, and the run counts as failed with it
 * however it then ends. A run that rejected with an error of its own after the timeout keeps
 * that error as `cause`. Not an interruption (see {@link isInterrupted}): the loop did not stop.
 */
export class RunTimeoutError extends Error {
  constructor(
    /** The loop's name. */
    readonly loop: string,
    /** The timeout that passed, in milliseconds. */
    readonly timeout: number,
  ) {
    super(messages.runTimeout(loop, timeout));
    this.name = 'RunTimeoutError';
  }
}
