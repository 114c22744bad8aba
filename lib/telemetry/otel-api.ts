import { importOptional } from '../optional-peer.js';

/**
 * The few parts of `@opentelemetry/api` the telemetry uses, typed here so that no declaration
 * file of the package names the optional peer. Internal.
 */
export type Attributes = Record<string, string | number | boolean>;

/** `Counter` and `Histogram` alike. */
export interface Recorder {
  add?(value: number, attributes?: Attributes): void;
  record?(value: number, attributes?: Attributes): void;
}

/** An observable instrument's result. */
export interface ObservableResult {
  observe(value: number, attributes?: Attributes): void;
}

/** An observable gauge. */
export interface ObservableGauge {
  addCallback(callback: (result: ObservableResult) => void): void;
  removeCallback(callback: (result: ObservableResult) => void): void;
}

interface InstrumentOptions {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}

/** `Meter`. */
export interface Meter {
  createCounter(name: string, options?: InstrumentOptions): Recorder;
  createHistogram(name: string, options?: InstrumentOptions): Recorder;
  createObservableGauge(name: string, options?: InstrumentOptions): ObservableGauge;
}

/** `Span`. */
export interface Span {
  setAttribute(key: string, value: string | number | boolean): void;
  setStatus(status: { code: number; message?: string }): void;
  recordException(exception: unknown): void;
  end(): void;
}

/** `Tracer`. */
export interface Tracer {
  startActiveSpan<T>(name: string, options: { attributes?: Attributes }, fn: (span: Span) => T): T;
}

/** The module `@opentelemetry/api`, as far as it is used. */
export interface OtelApi {
  metrics: { getMeter(name: string, version?: string): Meter };
  /** The no-op meter the API hands out while no `MeterProvider` is registered. */
  createNoopMeter(): Meter;
  trace: { getTracer(name: string, version?: string): Tracer };
  SpanStatusCode: { ERROR: number };
}

/** The optional peer's module name. */
export const OTEL_API = '@opentelemetry/api';

/**
 * Imports `@opentelemetry/api` if it is installed; `undefined` when it is not (any other error
 * loading it is thrown). The specifier is a parameter so tests can name a missing module.
 */
export async function loadOtelApi(specifier: string = OTEL_API): Promise<OtelApi | undefined> {
  const peer = await importOptional<OtelApi>(specifier);
  return peer.found ? peer.module : undefined;
}
