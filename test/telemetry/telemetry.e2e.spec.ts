import { Injectable } from '@nestjs/common';
import { context, metrics, trace, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  InMemoryLeaseStore,
  PollingRegistry,
  Until,
  WaitModule,
  type LoopContext,
  type WaitModuleOptions,
} from '../../lib/index.js';
import { loadOtelApi } from '../../lib/telemetry/otel-api.js';
import { orchestratorOf } from '../../lib/polling/polling.registry.js';
import { FakeClock } from '../../lib/testing/index.js';
import { boot, close, type Booted } from '../polling/support.js';

/* OpenTelemetry metrics and spans of the loops, read with the SDK's in-memory reader and exporter. */

let booted: Booted | undefined;
let clock: FakeClock;
let exporter: InMemoryMetricExporter;
let reader: PeriodicExportingMetricReader;
let spans: InMemorySpanExporter;
let fail = false;

@Injectable()
class Worker {
  @Until('1m', { name: 'gc' })
  async gc({ signal }: LoopContext) {
    // Each run takes 2 s of the fake clock, and starts a child span.
    trace.getTracer('test').startSpan('child').end();
    await new Promise<void>((resolve) => {
      const handle = clock.setTimeout(resolve, 2_000);
      signal.addEventListener('abort', () => {
        clock.clearTimeout(handle);
        resolve();
      });
    });
    signal.throwIfAborted();
    if (fail) throw new Error('runtime is down');
  }
}

async function start(options: WaitModuleOptions = {}, imports: unknown[] = []): Promise<void> {
  clock = new FakeClock(0);
  booted = await boot({ providers: [Worker], imports: imports as never[] }, options, { clock });
  await clock.flush();
}

async function collect(): Promise<Map<string, MetricData>> {
  exporter.reset();
  await reader.forceFlush();
  const byName = new Map<string, MetricData>();
  for (const resource of exporter.getMetrics()) {
    for (const scope of resource.scopeMetrics) {
      expect(scope.scope.name).toBe('nestjs-wait');
      for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
    }
  }
  return byName;
}

function points(metric: MetricData | undefined): [Record<string, unknown>, unknown][] {
  return (metric?.dataPoints ?? []).map((p: DataPoint<unknown>) => [p.attributes, p.value]);
}

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

beforeEach(() => {
  fail = false;
  metrics.disable();
  trace.disable();
  exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  spans = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
  );
});

afterEach(async () => {
  if (booted !== undefined) await close(booted);
  booted = undefined;
  await reader.shutdown();
});

afterAll(() => {
  context.disable();
});

const gc = { 'nestjs_wait.loop.name': 'gc' };
const success = { ...gc, 'nestjs_wait.run.outcome': 'success' };
const failure = { ...gc, 'nestjs_wait.run.outcome': 'failure' };

describe('metrics', () => {
  it('counts runs by loop and outcome, and records each run duration in seconds', async () => {
    await start();
    await clock.advance('2m2s'); // runs at 0, 1m2s (sliding), both 2 s long
    fail = true;
    await clock.advance('1m2s'); // a third run at 2m4s fails after 2 s
    const m = await collect();
    expect(m.get('nestjs_wait.loop.runs')?.descriptor).toMatchObject({ unit: '{run}' });
    expect(points(m.get('nestjs_wait.loop.runs'))).toEqual([
      [success, 2],
      [failure, 1],
    ]);
    const duration = m.get('nestjs_wait.loop.run.duration');
    expect(duration?.descriptor.unit).toBe('s');
    const [ok, failed] = duration!.dataPoints as DataPoint<Histogram>[];
    expect(ok.attributes).toEqual(success);
    expect(ok.value).toMatchObject({ count: 2, sum: 4, min: 2, max: 2 });
    expect(failed.attributes).toEqual(failure);
    expect(failed.value).toMatchObject({ count: 1, sum: 2 });
  });

  it('reports runs in flight and consecutive failures as gauges by loop', async () => {
    await start();
    let m = await collect(); // the first run is in flight (0 to 2 s)
    expect(points(m.get('nestjs_wait.loop.runs_in_flight'))).toEqual([[gc, 1]]);
    expect(points(m.get('nestjs_wait.loop.consecutive_failures'))).toEqual([[gc, 0]]);
    fail = true; // the run in flight fails too
    await clock.advance('2m10s'); // runs at 0, 1m2s, 2m4s failed; none in flight
    m = await collect();
    expect(points(m.get('nestjs_wait.loop.runs_in_flight'))).toEqual([[gc, 0]]);
    expect(points(m.get('nestjs_wait.loop.consecutive_failures'))).toEqual([[gc, 3]]);
    expect(m.has('nestjs_wait.leader.is_leader')).toBe(false); // no leader election
  });

  it('reports leadership as a 1/0 gauge by identity with leader election', async () => {
    // The store keeps time on a clock of its own that never moves: leases do not expire.
    const store = new InMemoryLeaseStore(new FakeClock(0));
    const other = await store.acquire('gc-lease', 'pod-a', 60_000);
    if (!other.acquired) throw new Error('not acquired');
    await start({ leaderElection: { store, name: 'gc-lease', identity: 'pod-b' } });
    const identity = { 'nestjs_wait.leader.identity': 'pod-b' };
    expect(points((await collect()).get('nestjs_wait.leader.is_leader'))).toEqual([[identity, 0]]);
    await store.release('gc-lease', other.lease); // announced: pod-b takes over at once
    await clock.flush();
    expect(points((await collect()).get('nestjs_wait.leader.is_leader'))).toEqual([[identity, 1]]);
  });

  it('records nothing with metrics: false, and stops observing at shutdown', async () => {
    await start({ metrics: false });
    await clock.advance('2m');
    expect((await collect()).size).toBe(0);
    await close(booted!);
    booted = undefined;
    await start();
    await close(booted!);
    booted = undefined;
    const m = await collect();
    expect(m.has('nestjs_wait.loop.runs_in_flight')).toBe(false);
  });
});

describe('spans', () => {
  it('makes no span by default', async () => {
    await start();
    await clock.advance('1m5s'); // runs at 0 and 1m2s
    expect(spans.getFinishedSpans().map((s) => s.name)).toEqual(['child', 'child']);
  });

  it('with tracing: true, wraps each run in a span named after the loop, parent of the spans the run starts', async () => {
    await start({ tracing: true });
    await clock.advance('3s');
    fail = true;
    await clock.advance('1m2s'); // the second run, 1m2s to 1m4s, fails
    const finished = spans.getFinishedSpans();
    const runs = finished.filter((s) => s.name === 'gc');
    expect(runs.map((s) => s.attributes)).toEqual([
      { ...gc, 'nestjs_wait.run.iteration': 1, 'nestjs_wait.run.outcome': 'success' },
      { ...gc, 'nestjs_wait.run.iteration': 2, 'nestjs_wait.run.outcome': 'failure' },
    ]);
    expect(runs[0].status.code).toBe(SpanStatusCode.UNSET);
    expect(runs[1].status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'Error: runtime is down',
    });
    expect(runs[1].events.map((e) => e.name)).toEqual(['exception']);
    const children = finished.filter((s) => s.name === 'child');
    expect(children.map((s) => s.parentSpanContext?.spanId)).toEqual(
      runs.map((s) => s.spanContext().spanId),
    );
  });

  it('marks a run cut short by its stop as stopped, not failed, and does not count it', async () => {
    await start({ tracing: true });
    await booted!.app.get(PollingRegistry).stop('gc');
    const [run] = spans.getFinishedSpans().filter((s) => s.name === 'gc');
    expect(run.attributes['nestjs_wait.run.outcome']).toBe('stopped');
    expect(run.status.code).toBe(SpanStatusCode.UNSET);
    expect(points((await collect()).get('nestjs_wait.loop.runs'))).toEqual([]);
  });

  it('wraps loops added through the registry, and a run returning synchronously', async () => {
    await start({ tracing: true });
    booted!.app.get(PollingRegistry).add('sync', () => 42, { period: '1m' });
    await clock.flush();
    const [run] = spans.getFinishedSpans().filter((s) => s.name === 'sync');
    expect(run.attributes['nestjs_wait.run.outcome']).toBe('success');
  });
});

describe('options', () => {
  it('metrics and tracing must be booleans', () => {
    expect(() => WaitModule.forRoot({ tracing: 'yes' as never })).toThrow(
      'WaitModule.forRoot(): tracing must be true or false; got "yes"',
    );
    expect(() => WaitModule.forRoot({ metrics: 1 as never })).toThrow(
      'WaitModule.forRoot(): metrics must be true or false; got 1',
    );
  });
});

describe('without @opentelemetry/api', () => {
  it('loadOtelApi() gives undefined for a module that is not installed, and the API when it is', async () => {
    await expect(loadOtelApi('nestjs-wait-no-such-module')).resolves.toBeUndefined();
    expect((await loadOtelApi())?.metrics).toBe(metrics);
  });

  it('keeps no telemetry (nothing per run) while no MeterProvider is registered, since metrics have no proxy', async () => {
    const api = (await loadOtelApi())!;
    const unregistered = { ...api, metrics: { getMeter: () => api.createNoopMeter() } };
    const idle = orchestratorOf(new PollingRegistry({ clock: new FakeClock(0) }));
    await idle.enableTelemetry(() => Promise.resolve(unregistered));
    expect(idle.telemetry).toBeUndefined();
    const traced = orchestratorOf(new PollingRegistry({ clock: new FakeClock(0), tracing: true }));
    await traced.enableTelemetry(() => Promise.resolve(unregistered));
    expect(traced.telemetry).toBeDefined(); // traces have a proxy: still on
    const measured = orchestratorOf(new PollingRegistry({ clock: new FakeClock(0) }));
    await measured.enableTelemetry(() => Promise.resolve(api)); // this file's MeterProvider
    expect(measured.telemetry).toBeDefined();
  });

  it('the registry runs its loops with no telemetry when the API cannot be loaded', async () => {
    await start({ metrics: false });
    const registry = new PollingRegistry({ clock, tracing: true });
    await orchestratorOf(registry).enableTelemetry(() => Promise.resolve(undefined));
    let runs = 0;
    registry.add('plain', () => void runs++, { period: '1m' });
    orchestratorOf(registry).startAll();
    await clock.advance('1m');
    expect(runs).toBe(2);
    await clock.runUntil(registry.shutdown());
    expect(spans.getFinishedSpans().filter((s) => s.name === 'plain')).toEqual([]);
  });
});
