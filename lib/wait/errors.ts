import { messages } from './wait.messages.js';

/**
 * Rejection of `poll` when its timeout passes, and of `exponentialBackoff` when its steps run out
 * (Go's `ErrWaitTimeout`). Message: `'timed out waiting for the condition'`.
 */
export class WaitTimeoutError extends Error {
  constructor(options?: ErrorOptions) {
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
