import { jest } from '@jest/globals';
import * as FakeTimers from '@sinonjs/fake-timers';
import { nonSlidingUntil, until } from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

/*
 * realClock (no `clock` option) driven by fake timers that are not FakeClock: Jest's modern fake
 * timers and @sinonjs/fake-timers replace the globals after the engine was imported, and the
 * engine must follow them. Also: periods beyond Node's timer limit.
 */

const MAX_TIMER_DELAY = 2 ** 31 - 1;

// Captured before any test installs fake timers.
const realSetImmediate = globalThis.setImmediate;
const realSetTimeout = globalThis.setTimeout;
const nextMacrotask = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));

/**
 * The host's `process`. Jest hands each test file a copy of it whose 'warning' event never fires,
 * while Node emits warnings on the host object; the sandbox's `Buffer` comes from the host realm,
 * and so does its `Function` constructor.
 */
const hostProcess = (Buffer.constructor as (code: string) => () => NodeJS.Process)(
  'return process',
)();

/** Collects the names of the process warnings emitted until `stop()`. */
function watchWarnings(): { names: string[]; stop: () => Promise<string[]> } {
  const names: string[] = [];
  const listener = (warning: Error): void => void names.push(warning.name);
  hostProcess.on('warning', listener);
  return {
    names,
    stop: async () => {
      // Node emits warnings on a later tick.
      await nextMacrotask();
      await nextMacrotask();
      hostProcess.off('warning', listener);
      return names;
    },
  };
}

/** Tracks whether a promise has settled, without letting a rejection go unhandled. */
function track(promise: Promise<unknown>): { settled: boolean; error: unknown } {
  const state = { settled: false, error: undefined as unknown };
  promise.then(
    () => void (state.settled = true),
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

/** Every stop signal of the file: a failed test must not leave its loop to the next ones. */
const controllers: AbortController[] = [];
function stopSignal(): AbortController {
  const controller = new AbortController();
  controllers.push(controller);
  return controller;
}

afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort();
  jest.useRealTimers();
  await nextMacrotask();
});

describe("Jest's modern fake timers", () => {
  it('until(fn, 1000, signal) runs at 0, 1000, 2000, ... with jest.advanceTimersByTime', async () => {
    jest.useFakeTimers();
    const t0 = performance.now();
    const controller = stopSignal();
    const runs: number[] = [];
    const done = until(() => void runs.push(performance.now() - t0), 1000, controller.signal);
    const state = track(done);
    // The first run comes at once, in a microtask.
    await nextMacrotask();
    expect(runs).toEqual([0]);
    jest.advanceTimersByTime(999);
    expect(runs).toEqual([0]);
    jest.advanceTimersByTime(1);
    expect(runs).toEqual([0, 1000]);
    jest.advanceTimersByTime(2500);
    expect(runs).toEqual([0, 1000, 2000, 3000]);
    expect(jest.getTimerCount()).toBe(1);

    controller.abort();
    await done;
    expect(state).toEqual({ settled: true, error: undefined });
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(10_000);
    expect(runs).toEqual([0, 1000, 2000, 3000]);
  });

  it('the first wait starts when the first run returns, even if fake time then jumps at once', async () => {
    jest.useFakeTimers();
    const t0 = performance.now();
    const controller = stopSignal();
    const runs: number[] = [];
    const done = until(() => void runs.push(performance.now() - t0), 1000, controller.signal);
    // One microtask turn: the first run (due in a microtask) has returned at 0...
    await Promise.resolve();
    expect(runs).toEqual([0]);
    // ...so its sliding wait started at 0, and a synchronous jump of 1000 ms ends it.
    jest.advanceTimersByTime(1000);
    await jest.advanceTimersByTimeAsync(0);
    expect(runs).toEqual([0, 1000]);
    jest.advanceTimersByTime(1000);
    expect(runs).toEqual([0, 1000, 2000]);
    controller.abort();
    await done;
    expect(jest.getTimerCount()).toBe(0);
  });

  it('no run starts before its wait is over, even when a loop due 1 ms earlier fires', async () => {
    jest.useFakeTimers();
    const t0 = performance.now();
    const controller = stopSignal();
    const a: number[] = [];
    const b: number[] = [];
    const loops = [
      until(() => void a.push(performance.now() - t0), 1000, controller.signal),
      until(() => void b.push(performance.now() - t0), 1001, controller.signal),
    ];
    await jest.advanceTimersByTimeAsync(3100);
    controller.abort();
    await Promise.all(loops);
    expect(a).toEqual([0, 1000, 2000, 3000]);
    expect(b).toEqual([0, 1001, 2002, 3003]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('an async body on fake timers: sliding starts after each run, abort waits for the run in flight', async () => {
    jest.useFakeTimers();
    const t0 = performance.now();
    const controller = stopSignal();
    const starts: number[] = [];
    const done = until(
      async () => {
        starts.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 300));
      },
      1000,
      controller.signal,
    );
    const state = track(done);
    await jest.advanceTimersByTimeAsync(2700);
    expect(starts).toEqual([0, 1300, 2600]);
    // The third run sleeps until 2900: an abort now waits for it.
    controller.abort();
    await jest.advanceTimersByTimeAsync(199);
    expect(state.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(state).toEqual({ settled: true, error: undefined });
    expect(jest.getTimerCount()).toBe(0);
    expect(starts).toEqual([0, 1300, 2600]);
  });

  it('nonSlidingUntil keeps its cadence with an async body on fake timers', async () => {
    jest.useFakeTimers();
    const t0 = performance.now();
    const controller = stopSignal();
    const starts: number[] = [];
    const done = nonSlidingUntil(
      async () => {
        starts.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 300));
      },
      1000,
      controller.signal,
    );
    await jest.advanceTimersByTimeAsync(3500);
    expect(starts).toEqual([0, 1000, 2000, 3000]);
    controller.abort();
    await jest.advanceTimersByTimeAsync(1000);
    await done;
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a loop started under fake timers and another after jest.useRealTimers() do not hang', async () => {
    jest.useFakeTimers();
    const controller = stopSignal();
    let first = 0;
    let second = 0;
    const a = until(() => void first++, 50, controller.signal);
    await jest.advanceTimersByTimeAsync(0);
    expect(first).toBe(1);
    // The engine's one timer is now a fake one that nobody will ever advance.
    jest.useRealTimers();
    const b = until(() => void second++, 20, controller.signal);
    const deadline = performance.now() + 5000;
    while ((second < 3 || first < 2) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    controller.abort();
    await Promise.all([a, b]);
    // Both loops went on, on the real timers of the moment.
    expect(second).toBeGreaterThanOrEqual(3);
    expect(first).toBeGreaterThanOrEqual(2);
  });
});

describe('@sinonjs/fake-timers', () => {
  it('until(fn, 1000, signal) runs at 0, 1000, 2000, ... with clock.tickAsync()', async () => {
    const clock = FakeTimers.install();
    try {
      const t0 = performance.now();
      const controller = stopSignal();
      const runs: number[] = [];
      const done = until(() => void runs.push(performance.now() - t0), 1000, controller.signal);
      const state = track(done);
      await clock.tickAsync(0);
      expect(runs).toEqual([0]);
      await clock.tickAsync(999);
      expect(runs).toEqual([0]);
      await clock.tickAsync(1);
      expect(runs).toEqual([0, 1000]);
      await clock.tickAsync(1500);
      expect(runs).toEqual([0, 1000, 2000]);
      expect(clock.countTimers()).toBe(1);

      controller.abort();
      await clock.tickAsync(0);
      expect(state).toEqual({ settled: true, error: undefined });
      expect(clock.countTimers()).toBe(0);
      await clock.tickAsync(5000);
      expect(runs).toEqual([0, 1000, 2000]);
    } finally {
      clock.uninstall();
    }
  });

  it('an async body on sinon fake timers: sliding waits start after each run settles', async () => {
    const clock = FakeTimers.install();
    try {
      const t0 = performance.now();
      const controller = stopSignal();
      const starts: number[] = [];
      const done = until(
        async () => {
          starts.push(performance.now() - t0);
          await new Promise((resolve) => setTimeout(resolve, 250));
        },
        1000,
        controller.signal,
      );
      await clock.tickAsync(2600);
      expect(starts).toEqual([0, 1250, 2500]);
      controller.abort();
      await clock.tickAsync(150);
      await done;
      expect(clock.countTimers()).toBe(0);
    } finally {
      clock.uninstall();
    }
  });
});

describe('periods above 2**31-1 ms', () => {
  const PERIOD = 2 ** 32;

  it('the warning listener works: a bare setTimeout(fn, 2**32) emits a TimeoutOverflowWarning', async () => {
    const warnings = watchWarnings();
    clearTimeout(realSetTimeout(() => undefined, PERIOD));
    expect(await warnings.stop()).toContain('TimeoutOverflowWarning');
  });

  it('on real timers, a 2**32 ms period arms no overflowing timer', async () => {
    const warnings = watchWarnings();
    const spy = jest.spyOn(globalThis, 'setTimeout');
    const controller = stopSignal();
    let runs = 0;
    const done = until(() => void runs++, PERIOD, controller.signal);
    try {
      await nextMacrotask();
      expect(runs).toBe(1);
      const delays = spy.mock.calls.map((call) => call[1] ?? 0);
      expect(delays.length).toBeGreaterThanOrEqual(1);
      for (const delay of delays) expect(delay).toBeLessThanOrEqual(MAX_TIMER_DELAY);
    } finally {
      spy.mockRestore();
      controller.abort();
      await done;
    }
    expect(runs).toBe(1);
    expect(await warnings.stop()).not.toContain('TimeoutOverflowWarning');
  });

  it("Jest's fake timers: the 2nd run comes at exactly 2**32, not earlier, without a warning", async () => {
    const warnings = watchWarnings();
    jest.useFakeTimers();
    const t0 = performance.now();
    const controller = stopSignal();
    const runs: number[] = [];
    const done = until(() => void runs.push(performance.now() - t0), PERIOD, controller.signal);
    await jest.advanceTimersByTimeAsync(0);
    expect(runs).toEqual([0]);
    // Fake timers clamp an overflowing delay to 1 ms, as Node does.
    await jest.advanceTimersByTimeAsync(1);
    expect(runs).toEqual([0]);
    await jest.advanceTimersByTimeAsync(MAX_TIMER_DELAY);
    expect(runs).toEqual([0]);
    await jest.advanceTimersByTimeAsync(PERIOD - MAX_TIMER_DELAY - 2);
    expect(runs).toEqual([0]);
    await jest.advanceTimersByTimeAsync(1);
    expect(runs).toEqual([0, PERIOD]);
    await jest.advanceTimersByTimeAsync(PERIOD);
    expect(runs).toEqual([0, PERIOD, 2 * PERIOD]);
    controller.abort();
    await done;
    expect(jest.getTimerCount()).toBe(0);
    jest.useRealTimers();
    expect(await warnings.stop()).not.toContain('TimeoutOverflowWarning');
  });

  it('sinon fake timers: the 2nd run comes at exactly 2**32, not earlier', async () => {
    const clock = FakeTimers.install();
    try {
      const t0 = performance.now();
      const controller = stopSignal();
      const runs: number[] = [];
      const done = until(() => void runs.push(performance.now() - t0), PERIOD, controller.signal);
      await clock.tickAsync(1);
      expect(runs).toEqual([0]);
      await clock.tickAsync(PERIOD - 2);
      expect(runs).toEqual([0]);
      await clock.tickAsync(1);
      expect(runs).toEqual([0, PERIOD]);
      controller.abort();
      await clock.tickAsync(0);
      await done;
      expect(clock.countTimers()).toBe(0);
    } finally {
      clock.uninstall();
    }
  });

  it('FakeClock: runs at 0, 2**32, 2**33, and the clock never gets a delay above 2**31-1', async () => {
    const clock = new FakeClock();
    const spy = jest.spyOn(clock, 'setTimeout');
    const controller = stopSignal();
    const runs: number[] = [];
    const done = until(() => void runs.push(clock.now()), PERIOD, controller.signal, { clock });
    await clock.advance(PERIOD - 1);
    expect(runs).toEqual([0]);
    await clock.advance(1);
    expect(runs).toEqual([0, PERIOD]);
    await clock.advance(PERIOD);
    expect(runs).toEqual([0, PERIOD, 2 * PERIOD]);
    controller.abort();
    await done;
    expect(clock.pendingTimers).toBe(0);
    for (const [, delay] of spy.mock.calls) expect(delay).toBeLessThanOrEqual(MAX_TIMER_DELAY);
  });
});
