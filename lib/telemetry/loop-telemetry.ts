import type { LeaderElector } from '../leader/leader-elector.js';
import type { Clock, LoopContext } from '../wait/internal.js';
import type {
  Attributes,
  Meter,
  ObservableGauge,
  ObservableResult,
  OtelApi,
  Recorder,
  Tracer,
} from './otel-api.js';
import { ATTR, METRIC, SCOPE, telemetryMessages } from './telemetry.messages.js';

/** What the telemetry reads of a loop. */
export interface TelemetryLoop {
  readonly name: string;
  /** Clock time; `undefined` before the first run. */
  readonly lastStartedAt: number | undefined;
  readonly inFlight: boolean;
  readonly consecutiveFailures: number;
}

/** A run's body as the telemetry wraps it. */
type RunFn<C extends LoopContext> = (ctx: C) => unknown;

/** What the telemetry needs from the registry. */
export interface TelemetrySource {
  readonly clock: Clock;
  /** Every loop now. */
  loops(): Iterable<TelemetryLoop>;
  /** Leader election, when the app has it. */
  readonly leadership: LeaderElector | undefined;
}

/** Run duration buckets in seconds: from 5 ms to 10 min, for loops of milliseconds to hours. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * OpenTelemetry metrics (and, with `tracing`, a span per run) of the registry's loops, on the
 * global `MeterProvider` and `TracerProvider` of `@opentelemetry/api`. Instruments:
 *
 * - `nestjs_wait.loop.runs` (counter): runs by `nestjs_wait.loop.name` and `nestjs_wait.run.outcome`
 *   (`success` or `failure`; a run cut short by its loop's stop is neither);
 * - `nestjs_wait.loop.run.duration` (histogram, seconds, same attributes);
 * - `nestjs_wait.loop.runs_in_flight` and `nestjs_wait.loop.consecutive_failures` (gauges, by loop);
 * - `nestjs_wait.leader.is_leader` (gauge, 1 or 0, by `nestjs_wait.leader.identity`), with leader
 *   election only.
 *
 * Internal: `WaitModule` creates it when `@opentelemetry/api` is installed.
 */
export class LoopTelemetry {
  private readonly runs: Recorder;
  private readonly duration: Recorder;
  private readonly gauges: [ObservableGauge, (result: ObservableResult) => void][] = [];
  private readonly tracer: Tracer | undefined;
  /** Per loop name, the attributes of a success and of a failure, made once. */
  private readonly attributes = new Map<string, Record<'success' | 'failure', Attributes>>();
  /** Whether there is anything to record or trace at all. */
  readonly active: boolean;

  constructor(
    private readonly api: OtelApi,
    private readonly source: TelemetrySource,
    { metrics, tracing }: { metrics: boolean; tracing: boolean },
  ) {
    let meter: Meter | undefined = metrics ? api.metrics.getMeter(SCOPE) : undefined;
    // No MeterProvider registered: the API's metrics have no proxy, so nothing would ever be
    // recorded; not recording saves each run the attribute objects and the no-op calls.
    if (meter !== undefined && meter.constructor === api.createNoopMeter().constructor) {
      meter = undefined;
    }
    this.tracer = tracing ? api.trace.getTracer(SCOPE) : undefined;
    this.active = meter !== undefined || this.tracer !== undefined;
    this.runs = meter?.createCounter(METRIC.runs, {
      description: telemetryMessages.runs,
      unit: '{run}',
    }) ?? { add: () => undefined };
    this.duration = meter?.createHistogram(METRIC.duration, {
      description: telemetryMessages.duration,
      unit: 's',
      advice: { explicitBucketBoundaries: BUCKETS },
    }) ?? { record: () => undefined };
    if (meter === undefined) return;
    this.gauge(meter, METRIC.inFlight, telemetryMessages.inFlight, '{run}', (result) => {
      for (const loop of source.loops()) result.observe(loop.inFlight ? 1 : 0, attrs(loop.name));
    });
    this.gauge(meter, METRIC.failures, telemetryMessages.failures, '{run}', (result) => {
      for (const loop of source.loops()) result.observe(loop.consecutiveFailures, attrs(loop.name));
    });
    if (source.leadership !== undefined) {
      const leadership = source.leadership;
      this.gauge(meter, METRIC.leader, telemetryMessages.leader, '1', (result) => {
        result.observe(leadership.isLeader ? 1 : 0, { [ATTR.identity]: leadership.identity });
      });
    }
  }

  /** A run of `loop` has settled: count it and record its duration. */
  runEnded(loop: TelemetryLoop, outcome: 'success' | 'failure'): void {
    let byOutcome = this.attributes.get(loop.name);
    if (byOutcome === undefined) {
      const of = (o: string): Attributes => ({ ...attrs(loop.name), [ATTR.outcome]: o });
      byOutcome = { success: of('success'), failure: of('failure') };
      this.attributes.set(loop.name, byOutcome);
    }
    const attributes = byOutcome[outcome];
    this.runs.add!(1, attributes);
    if (loop.lastStartedAt !== undefined) {
      this.duration.record!((this.source.clock.now() - loop.lastStartedAt) / 1000, attributes);
    }
  }

  /** `fn` with a span around each run when tracing is on (the span is active during the run). */
  wrap<C extends LoopContext>(name: string, fn: RunFn<C>): RunFn<C> {
    const tracer = this.tracer;
    if (tracer === undefined) return fn;
    const error = this.api.SpanStatusCode.ERROR;
    return (ctx: C) =>
      tracer.startActiveSpan(
        name,
        { attributes: { ...attrs(name), [ATTR.iteration]: ctx.iteration } },
        (span) => {
          const fail = (reason: unknown): never => {
            if (ctx.signal.aborted) span.setAttribute(ATTR.outcome, 'stopped');
            else {
              span.setAttribute(ATTR.outcome, 'failure');
              span.recordException(reason instanceof Error ? reason : String(reason));
              span.setStatus({ code: error, message: String(reason) });
            }
            span.end();
            throw reason;
          };
          const succeed = <T>(value: T): T => {
            span.setAttribute(ATTR.outcome, 'success');
            span.end();
            return value;
          };
          let result: unknown;
          try {
            result = fn(ctx);
          } catch (reason) {
            return fail(reason);
          }
          return isThenable(result) ? Promise.resolve(result).then(succeed, fail) : succeed(result);
        },
      );
  }

  /** Removes the gauges' callbacks (at shutdown). */
  close(): void {
    for (const [gauge, callback] of this.gauges.splice(0)) gauge.removeCallback(callback);
  }

  private gauge(
    meter: Meter,
    name: string,
    description: string,
    unit: string,
    callback: (result: ObservableResult) => void,
  ): void {
    const gauge = meter.createObservableGauge(name, { description, unit });
    gauge.addCallback(callback);
    this.gauges.push([gauge, callback]);
  }
}

function attrs(name: string): Attributes {
  return { [ATTR.loop]: name };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
