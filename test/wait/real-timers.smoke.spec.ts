import { jest } from '@jest/globals';
import { getEventListeners } from 'node:events';
import { nonSlidingUntil, until } from '../../lib/index.js';

/*
 * A few smoke tests on the process's real timers (realClock), with generous bounds: everything
 * else runs on FakeClock.
 */

/**
 * The host's `process`. Jest hands each test file a copy of it whose 'warning' event never fires,
 * while Node emits warnings on the host object; the sandbox's `Buffer` comes from the host realm,
 * and so does its `Function` constructor.
 */
const hostProcess = (Buffer.constructor as (code: string) => () => NodeJS.Process)(
  'return process',
)();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const microtasks = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Number of active `Timeout` resources of the process. */
const activeTimeouts = (): number =>
  process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;

/** Collects the names of the process warnings emitted until `stop()`. */
function watchWarnings(): { stop: () => Promise<string[]> } {
  const names: string[] = [];
  const listener = (warning: Error): void => void names.push(warning.name);
  hostProcess.on('warning', listener);
  return {
    stop: async () => {
      // Node emits warnings on a later tick.
      await nextMacrotask();
      await nextMacrotask();
      hostProcess.off('warning', listener);
      return names;
    },
  };
}

describe('real timers', () => {
  it('an abort during a 30 s wait settles at once and leaves no Timeout behind', async () => {
    const controller = new AbortController();
    let runs = 0;
    // Jest's own timers come and go, so the counts are compared across microtasks only: no timer
    // can start or end in between.
    const before = activeTimeouts();
    const done = until(() => void runs++, '30s', controller.signal);
    try {
      await microtasks();
      expect(runs).toBe(1);
      expect(activeTimeouts()).toBe(before + 1);
      await sleep(20);
      expect(runs).toBe(1);
    } finally {
      const armed = activeTimeouts();
      const abortedAt = performance.now();
      controller.abort();
      await done;
      const elapsed = performance.now() - abortedAt;
      // The wait was cleared by the abort, not left to run out its 30 s.
      expect(elapsed).toBeLessThan(500);
      expect(activeTimeouts()).toBe(armed - 1);
    }
    expect(runs).toBe(1);
  });

  it('an abort while an async run is in flight settles once the run ends', async () => {
    const controller = new AbortController();
    let ended = false;
    const done = until(
      async () => {
        await sleep(100);
        ended = true;
      },
      '30s',
      controller.signal,
    );
    await sleep(10);
    controller.abort();
    expect(ended).toBe(false);
    let settled = false;
    await done.then(() => {
      settled = true;
      expect(ended).toBe(true);
    });
    expect(settled).toBe(true);
  });

  it('the warning listener works: 11 bare abort listeners on one signal emit MaxListenersExceededWarning', async () => {
    const warnings = watchWarnings();
    const { signal } = new AbortController();
    for (let i = 0; i < 11; i++) signal.addEventListener('abort', () => undefined);
    expect(await warnings.stop()).toContain('MaxListenersExceededWarning');
  });

  it('10,000 loops on one signal: one abort listener at most, no MaxListenersExceededWarning', async () => {
    const warnings = watchWarnings();
    const controller = new AbortController();
    const { signal } = controller;
    let listeners = 0;
    let maxListeners = 0;
    const add = jest.spyOn(signal, 'addEventListener');
    const remove = jest.spyOn(signal, 'removeEventListener');
    add.mockImplementation(function (this: AbortSignal, ...args) {
      if (args[0] === 'abort') maxListeners = Math.max(maxListeners, ++listeners);
      return EventTarget.prototype.addEventListener.apply(this, args);
    });
    remove.mockImplementation(function (this: AbortSignal, ...args) {
      if (args[0] === 'abort') listeners--;
      return EventTarget.prototype.removeEventListener.apply(this, args);
    });

    const N = 10_000;
    let runs = 0;
    const loops: Promise<void>[] = [];
    // From here to the last count, only microtasks run: no other timer can start or end.
    const before = activeTimeouts();
    for (let i = 0; i < N; i++) loops.push(until(() => void runs++, '1m', signal));
    const abortedAt = performance.now();
    try {
      await microtasks();
      expect(runs).toBe(N);
      expect(activeTimeouts()).toBeGreaterThan(before);
      expect(getEventListeners(signal, 'abort').length).toBeLessThanOrEqual(1);
    } finally {
      controller.abort();
      await Promise.all(loops);
    }
    expect(activeTimeouts()).toBe(before);
    expect(performance.now() - abortedAt).toBeLessThan(2000);
    expect(runs).toBe(N);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(maxListeners).toBeLessThanOrEqual(1);
    expect(add.mock.calls.filter(([type]) => type === 'abort').length).toBeLessThanOrEqual(1);
    expect(await warnings.stop()).not.toContain('MaxListenersExceededWarning');
  });

  it('nonSlidingUntil at 10 ms keeps its period on real timers despite a 3 ms run time', async () => {
    // Exact cadence is proven on FakeClock (until.spec.ts, timers that fire late). Here, on a
    // machine that may be loaded, only what survives a scheduling hiccup is asserted: the typical
    // gap between starts is the period (a sliding loop would show period + 3 ms), and runs never
    // overlap.
    const period = 10;
    const controller = new AbortController();
    const starts: number[] = [];
    let inFlight = 0;
    let overlapped = false;
    const done = nonSlidingUntil(
      async () => {
        overlapped ||= inFlight++ > 0;
        starts.push(performance.now());
        if (starts.length === 100) controller.abort();
        await sleep(3);
        inFlight--;
      },
      period,
      controller.signal,
    );
    await done;
    expect(starts).toHaveLength(100);
    expect(overlapped).toBe(false);
    const gaps = starts.slice(1).map((start, i) => start - starts[i]);
    const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
    expect(median).toBeGreaterThan(period - 1.5);
    expect(median).toBeLessThan(period + 1.5);
  });
});
