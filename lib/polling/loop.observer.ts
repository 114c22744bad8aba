import { Logger } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { Clock } from '../wait/internal.js';
import type { ManagedLoop } from './loop/managed-loop.js';
import type { ManagedLoopObserver } from './loop/loop-settings.js';
import type { LoopTelemetry } from '../telemetry/loop-telemetry.js';
import { LoopEvents } from './loop-events.stream.js';
import { nowOf } from './loop-status.mapper.js';
import type { LoopEvent } from './polling.interfaces.js';
import { messages } from './polling.messages.js';
import { describeThrown, FailureLog, summarize } from './run-failure.formatter.js';

/**
 * The Nest layer's side of every loop: it logs each run's outcome (a failure with the loop's
 * name and the consecutive-failure count, in full only when the error is new; a recovery once),
 * records it in telemetry and emits it on `events$`. A throwing logger or `events$` subscriber
 * must not end a loop, so nothing thrown here reaches the loop core. Internal.
 */
export class LoopObserver implements ManagedLoopObserver {
  /** Runs started, succeeded and failed, and loops stopped; completes with {@link complete}. */
  readonly events$: Observable<LoopEvent>;
  /** Set once `@opentelemetry/api` is loaded and recording; runs are recorded from then on. */
  telemetry: LoopTelemetry | undefined = undefined;
  private readonly logger = new Logger('WaitModule');
  private readonly failureLog = new FailureLog<ManagedLoop>();
  private readonly events: LoopEvents;
  /** {@link verboseOn}'s answer for the batch under way. */
  private verbose: boolean | undefined = undefined;
  private readonly forgetVerbose = (): void => void (this.verbose = undefined);

  constructor(private readonly clock: Clock) {
    this.events = new LoopEvents((error, event) =>
      safely(() =>
        this.logger.error(
          messages.subscriberThrew(event?.type, event?.name, summarize(error)),
          describeThrown(error),
        ),
      ),
    );
    this.events$ = this.events.stream;
  }

  // The per-run calls catch inline: a closure for safely() would be two allocations a run.
  runStarted(loop: ManagedLoop): void {
    if (!this.events.observed) return;
    try {
      this.emit('started', loop);
    } catch {
      // Nowhere left to report it: a subscriber is what failed.
    }
  }

  runSucceeded(loop: ManagedLoop, failuresBefore: number): void {
    try {
      if (failuresBefore > 0) this.logger.log(messages.recovered(loop.name, failuresBefore));
      // A routine success is every run: its line is built only when verbose is on.
      else if (this.verboseOn())
        this.logger.verbose(messages.succeeded(loop.name, loop.iterations));
      this.telemetry?.runEnded(loop, 'success');
      this.emit('succeeded', loop);
    } catch {
      // Nowhere left to report it: the logger or a subscriber is what failed.
    }
  }

  runFailed(loop: ManagedLoop, error: unknown): void {
    safely(() => {
      const count = loop.consecutiveFailures;
      const repeated = this.failureLog.repeated(loop, error, count);
      if (repeated === undefined) {
        this.logger.error(messages.failed(loop.name, count), describeThrown(error));
      } else this.logger.error(messages.failedAgain(loop.name, count, repeated));
      this.telemetry?.runEnded(loop, 'failure');
      this.emit('failed', loop, error);
    });
  }

  stopped(loop: ManagedLoop): void {
    safely(() => this.emit('stopped', loop));
  }

  runTimedOut(loop: ManagedLoop, timeout: number): void {
    safely(() => this.logger.warn(messages.timedOut(loop.name, timeout)));
  }

  /**
   * Whether verbose logs are on, asked of Nest once per batch of runs rather than once a run
   * (its check builds arrays when verbose is off; see bench/PERF-NOTES.md). A level set between
   * two batches applies to the next one.
   */
  private verboseOn(): boolean {
    if (this.verbose === undefined) {
      this.verbose = Logger.isLevelEnabled('verbose');
      queueMicrotask(this.forgetVerbose);
    }
    return this.verbose;
  }

  /** Ends `events$` (at the end of shutdown). */
  complete(): void {
    this.events.complete();
  }

  private emit(type: LoopEvent['type'], loop: ManagedLoop, error?: unknown): void {
    if (!this.events.observed) return; // no event object is built for nobody
    const { name, iterations, consecutiveFailures } = loop;
    const event: LoopEvent = {
      type,
      name,
      iteration: iterations,
      consecutiveFailures,
      at: nowOf(this.clock),
    };
    if (type === 'failed') event.error = error;
    this.events.emit(event);
  }
}

function safely(report: () => void): void {
  try {
    report();
  } catch {
    // Nowhere left to report it: the logger or a subscriber is what failed.
  }
}
