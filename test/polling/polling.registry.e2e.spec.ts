import { Injectable } from '@nestjs/common';
import { config as rxjsConfig, filter, firstValueFrom, map } from 'rxjs';
import { FakeClock } from '../../lib/testing/index.js';
import {
  PollingRegistry,
  Until,
  type LoopContext,
  type LoopDefinition,
  type LoopEvent,
} from '../../lib/index.js';
import { boot, close, deferred, RunLog, type Booted } from './support.js';
import { configured } from '../support/helpers.js';

/* PollingRegistry through a booted app, on FakeClock. */

let clock: FakeClock;
let log: RunLog;
let booted: Booted;
let registry: PollingRegistry;
let hold: { promise: Promise<void>; resolve: () => void } | undefined;

@Injectable()
class Worker {
  @Until('1m')
  async tick(ctx: LoopContext) {
    log.begin();
    try {
      if (hold !== undefined) await hold.promise;
      if (ctx.signal.aborted) return;
    } finally {
      log.end();
    }
  }
}

beforeEach(async () => {
  clock = new FakeClock();
  log = new RunLog(clock);
  hold = undefined;
  booted = await boot({ providers: [Worker] }, {}, { clock });
  registry = booted.app.get(PollingRegistry);
  await clock.flush();
});

afterEach(async () => {
  hold?.resolve();
  await close(booted);
  expect(clock.pendingTimers).toBe(0);
});

describe('unknown names', () => {
  it.each(['get', 'start'] as const)('%s() throws at once, naming the loop', (method) => {
    expect(() => registry[method]('Worker.tock')).toThrow(
      `PollingRegistry.${method}(): no loop is named "Worker.tock"`,
    );
  });

  it.each(['stop', 'remove', 'trigger'] as const)(
    '%s() returns a promise: it rejects (never throws), naming the loop',
    async (method) => {
      let call: Promise<void> | undefined;
      expect(() => (call = registry[method]('Worker.tock'))).not.toThrow();
      await expect(call).rejects.toThrow(
        `PollingRegistry.${method}(): no loop is named "Worker.tock"`,
      );
    },
  );

  it('update() too', () => {
    expect(() => registry.update('nope', { period: 1 })).toThrow(
      'PollingRegistry.update(): no loop is named "nope"',
    );
  });

  it('has() answers false instead', () => {
    expect([registry.has('Worker.tick'), registry.has('nope')]).toEqual([true, false]);
  });
});

describe('add', () => {
  it('runs a new loop at once and lists it after the decorated one', async () => {
    const runs: string[] = [];
    const status = registry.add(
      'reports',
      (ctx) => void runs.push(`${ctx.name}#${ctx.iteration}`),
      { period: '10s' },
    );
    expect(status).toMatchObject({
      name: 'reports',
      state: 'running',
      period: 10_000,
      iterations: 0,
    });
    await clock.advance('20s');
    expect(runs).toEqual(['reports#1', 'reports#2', 'reports#3']);
    expect(registry.list().map((s) => s.name)).toEqual(['Worker.tick', 'reports']);
  });

  it('throws on a taken name and on bad options, naming them', () => {
    expect(() => registry.add('Worker.tick', () => undefined, { period: 1 })).toThrow(
      'PollingRegistry.add(): a loop named "Worker.tick" exists already',
    );
    expect(() => registry.add('x', () => undefined, { period: configured('1 minute') })).toThrow(
      'PollingRegistry.add(): period "1 minute" is not a duration',
    );
    expect(() => registry.add('x', 'run' as never, { period: 1 })).toThrow(
      'PollingRegistry.add(): fn must be a function; got "run"',
    );
    expect(() => registry.add('', () => undefined, { period: 1 })).toThrow(
      "the loop's name must be a non-empty string",
    );
    expect(() => registry.add('x', () => undefined, { period: 1, name: 'other' })).toThrow(
      'PollingRegistry.add(): the loop is named "x" but its options say name "other"; give the name once, as the first argument',
    );
    expect(registry.has('x')).toBe(false);
  });

  it('refuses a backoff whose max is below its initial wait, naming the loop and both values', () => {
    expect(() =>
      registry.add('b', () => undefined, { period: 1, backoff: { initial: '1s', max: '200ms' } }),
    ).toThrow(
      'PollingRegistry.add() (loop "b"): backoff.max (200 ms) is less than backoff.initial (1000 ms); the wait after a failure grows from initial up to max',
    );
    expect(registry.has('b')).toBe(false);
  });

  it('warns about a jitter factor above 1 (10 meant as 10%), and accepts it as Go does', () => {
    registry.add('j', () => undefined, { period: 1000, jitter: 10, autoStart: false });
    expect(booted.logger.of('warn')).toContain(
      'PollingRegistry.add() (loop "j"): jitter 10 adds up to 1000% of the period; a jitter factor is a fraction (0.1 for up to 10%)',
    );
    registry.add('k', () => undefined, { period: 1000, jitter: 0.5, autoStart: false });
    expect(booted.logger.of('warn').filter((l) => l.includes('"k"'))).toEqual([]);
  });

  it('autoStart: false adds it stopped', async () => {
    registry.add('manual', () => undefined, { period: 1, autoStart: false });
    await clock.advance(10);
    expect(registry.get('manual')).toMatchObject({ state: 'stopped', iterations: 0 });
  });
});

describe('stop and start', () => {
  it('stop() aborts the run in flight and resolves once it settled; it is idempotent', async () => {
    hold = deferred();
    await clock.advance('1m'); // run 2 starts and is held
    expect(registry.get('Worker.tick').inFlight).toBe(true);
    let stopped = 0;
    const first = registry.stop('Worker.tick').then(() => stopped++);
    const second = registry.stop('Worker.tick').then(() => stopped++);
    await clock.flush();
    expect(stopped).toBe(0);
    expect(registry.get('Worker.tick')).toMatchObject({ state: 'stopped', inFlight: true });
    hold.resolve();
    await Promise.all([first, second]);
    expect(stopped).toBe(2);
    expect(registry.get('Worker.tick')).toMatchObject({ state: 'stopped', inFlight: false });
    await registry.stop('Worker.tick'); // already stopped: resolves at once
    await clock.advance('10m');
    expect(log.starts).toEqual([0, 60_000]);
  });

  it('start() after stop() runs at once and keeps counting iterations', async () => {
    await registry.stop('Worker.tick');
    await clock.advance('5m');
    void registry.start('Worker.tick');
    void registry.start('Worker.tick'); // idempotent
    await clock.advance('1m');
    expect(log.starts).toEqual([0, 300_000, 360_000]);
    expect(registry.get('Worker.tick').iterations).toBe(3);
  });

  it('start() while the stopped run still settles waits for it: never two runs at once', async () => {
    hold = deferred();
    await clock.advance('1m'); // run 2 in flight
    const stopping = registry.stop('Worker.tick');
    void registry.start('Worker.tick');
    await clock.advance('1s');
    expect(log.starts).toEqual([0, 60_000]);
    hold.resolve();
    hold = undefined;
    await stopping;
    await clock.flush();
    expect(log.starts).toEqual([0, 60_000, 61_000]);
    expect(log.maxRunning).toBe(1);
  });

  it('remove() stops the loop and frees the name', async () => {
    await registry.remove('Worker.tick');
    expect(registry.has('Worker.tick')).toBe(false);
    registry.add('Worker.tick', () => undefined, { period: 1 });
    expect(registry.has('Worker.tick')).toBe(true);
  });
});

describe('trigger', () => {
  it('runs now and resolves when the run is done; the period then counts from it', async () => {
    await clock.advance('30s');
    hold = deferred();
    let done = false;
    const triggered = registry.trigger('Worker.tick').then(() => (done = true));
    await clock.flush();
    expect(log.starts).toEqual([0, 30_000]);
    expect(done).toBe(false);
    await clock.advance('5s');
    hold.resolve();
    hold = undefined;
    await triggered;
    expect(registry.get('Worker.tick').nextRunAt).toEqual(new Date(95_000)); // known at once
    await clock.advance('2m');
    expect(log.starts).toEqual([0, 30_000, 95_000, 155_000]);
  });

  it('during a run waits for it, and triggers during one run coalesce into one', async () => {
    hold = deferred();
    await clock.advance('1m'); // run 2 in flight
    const triggers = [
      registry.trigger('Worker.tick'),
      registry.trigger('Worker.tick'),
      registry.trigger('Worker.tick'),
    ];
    await clock.advance('1s');
    expect(log.starts).toEqual([0, 60_000]);
    hold.resolve();
    hold = undefined;
    await Promise.all(triggers);
    expect(log.starts).toEqual([0, 60_000, 61_000]);
    expect(log.maxRunning).toBe(1);
  });

  it('on a stopped loop runs one iteration and leaves it stopped', async () => {
    await registry.stop('Worker.tick');
    await clock.advance('10s');
    await registry.trigger('Worker.tick');
    await clock.advance('10m');
    expect(log.starts).toEqual([0, 10_000]);
    expect(registry.get('Worker.tick')).toMatchObject({ state: 'stopped', iterations: 2 });
  });

  it('resolves, and does not throw, when the run fails; the error is in the status', async () => {
    registry.add('failing', () => Promise.reject(new Error('boom')), { period: '1h' });
    await clock.flush();
    await expect(registry.trigger('failing')).resolves.toBeUndefined();
    expect(registry.get('failing')).toMatchObject({ failures: 2, consecutiveFailures: 2 });
    expect((registry.get('failing').lastError as Error).message).toBe('boom');
  });
});

describe('update', () => {
  it('a new period re-plans the wait in progress, counted from where it started', async () => {
    await clock.advance('10s');
    void registry.update('Worker.tick', { period: '30s' });
    expect(registry.get('Worker.tick').nextRunAt!.getTime()).toBe(30_000);
    await clock.advance('60s');
    expect(log.starts).toEqual([0, 30_000, 60_000]);
  });

  it('a period already passed runs at once', async () => {
    await clock.advance('40s');
    void registry.update('Worker.tick', { period: '10s' });
    await clock.advance(0);
    expect(log.starts).toEqual([0, 40_000]);
  });

  it('sliding: false from the next wait; jitter applies from the next wait', async () => {
    hold = deferred();
    await clock.advance('1m'); // run 2 starts at 60s and is held
    void registry.update('Worker.tick', { sliding: false });
    await clock.advance('10s');
    hold.resolve();
    hold = undefined;
    await clock.advance('1m');
    // Non-sliding: the next run is a period after run 2's start (120s), not after its end (130s).
    expect(log.starts).toEqual([0, 60_000, 120_000]);
    expect(registry.get('Worker.tick')).toMatchObject({ sliding: false, period: 60_000 });
  });

  it('bad changes throw naming them, and change nothing', () => {
    expect(() => registry.update('Worker.tick', { period: -5 })).toThrow(
      'PollingRegistry.update(): period must be a finite duration >= 0; got -5',
    );
    expect(() => registry.update('Worker.tick', { jitter: NaN })).toThrow(
      'jitter must be a finite number; got NaN',
    );
    expect(() => registry.update('Worker.tick', { autoStart: false } as never)).toThrow(
      'unknown option "autoStart"',
    );
    expect(() =>
      registry.update('Worker.tick', { period: '1s', backoff: { initial: '1m', max: '1s' } }),
    ).toThrow(
      'PollingRegistry.update() (loop "Worker.tick"): backoff.max (1000 ms) is less than backoff.initial (60000 ms)',
    );
    expect(() => registry.update('Worker.tick', { timeout: 0 })).toThrow(
      'PollingRegistry.update(): timeout must be more than 0 ms',
    );
    expect(() => registry.update('Worker.tick', { initialDelay: configured('soon') })).toThrow(
      'PollingRegistry.update(): initialDelay "soon" is not a duration',
    );
    expect(registry.get('Worker.tick').period).toBe(60_000);
  });

  it('initialDelay applies from the next start', async () => {
    void registry.update('Worker.tick', { initialDelay: '5s' });
    await clock.advance('1m'); // the loop's own wait is unchanged
    await registry.stop('Worker.tick');
    void registry.start('Worker.tick');
    await clock.advance('10s');
    expect(log.starts).toEqual([0, 60_000, 65_000]);
  });

  /** Adds a loop 'failing' whose every run throws; returns the times its runs started. */
  function addFailing(definition: LoopDefinition): number[] {
    const starts: number[] = [];
    registry.add(
      'failing',
      () => {
        starts.push(clock.now());
        throw new Error('down');
      },
      definition,
    );
    return starts;
  }

  it('backoff: added, it applies from the next failure; removed, failures wait the period again', async () => {
    const starts = addFailing({ period: '10s' });
    await clock.advance('20s'); // 0, 10s, 20s: the period
    void registry.update('failing', { backoff: { initial: '1s', max: '4s' } });
    await clock.advance('17s'); // 30 (the wait in progress ends as planned), then 31, 33, 37
    void registry.update('failing', { backoff: null });
    await clock.advance('20s'); // the 4s wait in progress ends at 41; then the period: 51
    expect(starts.map((t) => t / 1000)).toEqual([0, 10, 20, 30, 31, 33, 37, 41, 51]);
  });

  it('a new backoff starts over from its initial wait', async () => {
    const starts = addFailing({ period: '1m', backoff: { initial: '1s', max: '1m' } });
    await clock.advance('7s'); // 0, 1, 3, 7
    void registry.update('failing', { backoff: { initial: '2s', max: '1m', factor: 3 } });
    await clock.advance('30s'); // the 8s wait in progress ends at 15; then 17, 23
    expect(starts.map((t) => t / 1000)).toEqual([0, 1, 3, 7, 15, 17, 23]);
  });
});

describe('status and events$', () => {
  it('get() reports counters, times as Dates and the next run', async () => {
    await clock.advance('90s');
    const status = registry.get('Worker.tick');
    expect(status).toEqual({
      name: 'Worker.tick',
      state: 'running',
      placement: 'every',
      owner: undefined,
      period: 60_000,
      jitter: 0,
      sliding: true,
      backoff: false,
      iterations: 2,
      failures: 0,
      consecutiveFailures: 0,
      inFlight: false,
      runningSince: new Date(0),
      lastStartedAt: new Date(60_000),
      lastSucceededAt: new Date(60_000),
      lastEndedAt: new Date(60_000),
      lastOutcome: 'succeeded',
      lastError: undefined,
      nextRunAt: new Date(120_000),
    });
  });

  it('backoff says whether a backoff is set, as update() changes it', async () => {
    registry.add('retrying', () => undefined, {
      period: '1m',
      backoff: { initial: '1s', max: '1m' },
    });
    expect(registry.get('retrying').backoff).toBe(true);
    expect(registry.get('Worker.tick').backoff).toBe(false);
    await registry.update('retrying', { backoff: null });
    expect(registry.get('retrying').backoff).toBe(false);
  });

  it('a failed run: lastOutcome, lastError and its one-line message; kept after a success', async () => {
    let fail = true;
    registry.add(
      'flaky',
      () => {
        if (fail) throw new TypeError('bad <input>');
      },
      { period: '1s' },
    );
    await clock.advance('1ms');
    expect(registry.get('flaky')).toMatchObject({
      lastOutcome: 'failed',
      lastErrorMessage: 'TypeError: bad <input>',
    });
    expect(registry.get('flaky').lastError).toBeInstanceOf(TypeError);
    fail = false;
    await clock.advance('1s');
    expect(registry.get('flaky')).toMatchObject({
      lastOutcome: 'succeeded',
      lastErrorMessage: 'TypeError: bad <input>',
      lastEndedAt: new Date(1000),
    });
  });

  it('runningSince is the latest start, absent while stopped', async () => {
    await clock.advance('90s');
    await registry.stop('Worker.tick');
    expect(registry.get('Worker.tick').runningSince).toBeUndefined();
    await clock.advance('10s');
    void registry.start('Worker.tick');
    expect(registry.get('Worker.tick').runningSince).toEqual(new Date(100_000));
    expect(registry.now()).toEqual(new Date(100_000));
  });

  it('events$ emits started / succeeded / failed / stopped with the loop name, and completes at shutdown', async () => {
    const events: Omit<LoopEvent, 'error'>[] = [];
    let completed = false;
    registry.events$.subscribe({
      next: ({ error: _error, ...event }) => events.push(event),
      complete: () => (completed = true),
    });
    let fail = false;
    registry.add(
      'flaky',
      () => {
        if (fail) throw new Error('x');
      },
      { period: 100 },
    );
    await clock.advance(100);
    fail = true;
    await clock.advance(100);
    await registry.stop('flaky');
    const at = (ms: number) => new Date(ms);
    expect(events.filter((e) => e.name === 'flaky')).toEqual([
      { type: 'started', name: 'flaky', iteration: 1, consecutiveFailures: 0, at: at(0) },
      { type: 'succeeded', name: 'flaky', iteration: 1, consecutiveFailures: 0, at: at(0) },
      { type: 'started', name: 'flaky', iteration: 2, consecutiveFailures: 0, at: at(100) },
      { type: 'succeeded', name: 'flaky', iteration: 2, consecutiveFailures: 0, at: at(100) },
      { type: 'started', name: 'flaky', iteration: 3, consecutiveFailures: 0, at: at(200) },
      { type: 'failed', name: 'flaky', iteration: 3, consecutiveFailures: 1, at: at(200) },
      { type: 'stopped', name: 'flaky', iteration: 3, consecutiveFailures: 1, at: at(200) },
    ]);
    expect(completed).toBe(false);
    await close(booted);
    expect(completed).toBe(true);
  });
});

describe('events$ subscribers that throw', () => {
  // RxJS hands what a subscriber throws to config.onUnhandledError, and without one rethrows it
  // from a timer, which ends the process: collecting it here is what "crashed" looks like.
  let unhandled: unknown[];
  beforeEach(() => {
    unhandled = [];
    rxjsConfig.onUnhandledError = (error) => unhandled.push(error);
  });
  afterEach(() => {
    rxjsConfig.onUnhandledError = null;
  });

  function addLoop(fail: () => boolean): void {
    registry.add(
      'flaky',
      () => {
        if (fail()) throw new Error('x');
      },
      { period: 100 },
    );
  }

  it('a throwing subscriber is logged with the event and the loop; it and the others get every event', async () => {
    const seen: string[] = [];
    const others: string[] = [];
    registry.events$.subscribe((event) => {
      if (event.name === 'flaky') seen.push(`${event.type} ${event.iteration}`);
      throw new TypeError(`bad subscriber on ${event.type}`);
    });
    registry.events$.subscribe((event) => {
      if (event.name === 'flaky') others.push(`${event.type} ${event.iteration}`);
    });
    let fail = false;
    addLoop(() => fail);
    await clock.advance(100);
    fail = true;
    await clock.advance(100);
    await registry.stop('flaky');
    expect(seen).toEqual([
      ...['started 1', 'succeeded 1', 'started 2', 'succeeded 2'],
      ...['started 3', 'failed 3', 'stopped 3'],
    ]);
    expect(others).toEqual(seen);
    expect(unhandled).toEqual([]);
    const logged = booted.logger.lines.filter((l) => l.message.startsWith('An events$'));
    expect(logged.map((l) => l.message)).toContain(
      'An events$ subscriber threw on the "failed" event of loop "flaky"; the loops and the other subscribers go on: TypeError: bad subscriber on failed',
    );
    expect(logged[0].level).toBe('error');
    expect(logged[0].detail).toMatch(/^TypeError: bad subscriber on \w+\n\s+at /);
    expect(registry.get('flaky').iterations).toBe(3); // the loop went on
  });

  it('an operator that throws in pipe() is reported, not left to crash the process', async () => {
    const others: string[] = [];
    registry.events$
      .pipe(
        filter((event) => event.name === 'flaky'),
        map((event) => {
          if (event.type === 'failed') throw new Error('mapper broke');
          return event;
        }),
      )
      .subscribe(() => undefined); // no error callback
    registry.events$.subscribe((event) => others.push(event.type));
    let fail = false;
    addLoop(() => fail);
    await clock.advance(100);
    fail = true;
    await clock.advance(100);
    expect(unhandled).toEqual([]);
    expect(booted.logger.of('error')).toContain(
      'An events$ subscriber threw on the "failed" event of loop "flaky"; the loops and the other subscribers go on: Error: mapper broke',
    );
    expect(others.filter((t) => t === 'failed')).toHaveLength(1);
  });

  it("a subscriber's own error and complete callbacks are still called; firstValueFrom still works", async () => {
    const first = firstValueFrom(registry.events$);
    const errors: unknown[] = [];
    registry.events$
      .pipe(
        map(() => {
          throw new Error('once');
        }),
      )
      .subscribe({ error: (error: unknown) => errors.push(error) });
    let completed = false;
    registry.events$.subscribe({
      complete: () => {
        completed = true;
        throw new Error('complete broke');
      },
    });
    addLoop(() => false);
    await clock.advance(0);
    expect(await first).toMatchObject({ type: 'started', name: 'flaky' });
    expect(errors).toEqual([new Error('once')]);
    await close(booted);
    expect(completed).toBe(true);
    expect(unhandled).toEqual([]);
    expect(booted.logger.of('error')).toContain(
      'An events$ subscriber threw; the loops and the other subscribers go on: Error: complete broke',
    );
  });
});
