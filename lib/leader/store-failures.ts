import type { ElectorLogger } from './elector-settings.js';
import { describe, messages } from './leader-messages.js';

/**
 * How the elector reports a store it cannot reach: a warning once per kind of failure, not once
 * per retry (the repeats at debug level), and one line when the store answers again. Internal.
 */
export class StoreFailures {
  private failures = 0;
  private lastFailure: string | undefined = undefined;

  constructor(
    private readonly name: string,
    private readonly retryPeriod: number,
    private readonly logger: ElectorLogger,
  ) {}

  /** `operation` failed with `error`, unless `signal` aborted: then the elector is stopping. */
  failed(operation: string, error: unknown, signal: AbortSignal): void {
    if (signal.aborted) return;
    this.failures++;
    const text = describe(error);
    const message = messages.storeFailed(this.name, operation, text, this.retryPeriod);
    if (this.failures === 1 || text !== this.lastFailure) this.logger.warn(message);
    else this.logger.debug?.(message);
    this.lastFailure = text;
  }

  /** The store answered a call. */
  answered(): void {
    if (this.failures > 0) this.logger.log(messages.storeBack(this.name, this.failures));
    this.failures = 0;
    this.lastFailure = undefined;
  }
}
