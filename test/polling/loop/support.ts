/*
 * Shared setup of the ManagedLoop example specs (managed-loop.*.spec.ts, the property model aside):
 * a managed loop on FakeClock that records every run and observer call, its default settings, and
 * stop/trigger helpers that fail at once when the call does not resolve in time. Every example test
 * runs on FakeClock and pins exact run times; the property model is in managed-loop.model.spec.ts.
 */
import type { PollingContext } from '../../../lib/index.js';
import { ManagedLoop } from '../../../lib/polling/loop/managed-loop.js';
import type { LoopSettings, ManagedLoopObserver } from '../../../lib/polling/loop/loop-settings.js';
import { FakeClock } from '../../../lib/testing/index.js';
import { observe, sleep } from '../../support/helpers.js';

/** How one run behaves: synchronous when `ms` is undefined, else it settles after `ms`. */
export interface RunPlan {
  ms?: number;
  fail?: boolean;
}

export interface SetupOptions {
  settings?: Partial<LoopSettings>;
  /** The plan of run `n` (1-based, over every start and trigger). Default: synchronous success. */
  plan?: (n: number) => RunPlan;
  random?: () => number;
  /** Runs inside the body before its plan, with the run's number and the loop. */
  inside?: (n: number, loop: ManagedLoop) => void;
  observer?: Partial<ManagedLoopObserver>;
}

export const defaults: LoopSettings = {
  period: 100,
  jitter: 0,
  sliding: true,
  initialDelay: 0,
  backoff: undefined,
};

export const settings = (overrides: Partial<LoopSettings> = {}): LoopSettings => ({
  ...defaults,
  ...overrides,
});

/**
 * Stops `loop`, moves time on by `ms` and checks that the stop has resolved by then (never
 * awaited bare: a stop that hangs fails the test at once instead of timing it out).
 */
export async function stopWithin(loop: ManagedLoop, clock: FakeClock, ms = 0): Promise<void> {
  const stopped = observe(loop.stop(), clock);
  await clock.advance(ms);
  expect(stopped.state).toBe('resolved');
}

/** Triggers `loop` and checks the trigger resolved within `ms` (see stopWithin). */
export async function triggerWithin(loop: ManagedLoop, clock: FakeClock, ms = 0): Promise<void> {
  const triggered = observe(loop.trigger(), clock);
  await clock.advance(ms);
  expect(triggered.state).toBe('resolved');
}

/** A managed loop on a fresh FakeClock, recording every run and every observer call. */
export function setup(options: SetupOptions = {}) {
  const clock = new FakeClock();
  const starts: number[] = [];
  const ends: number[] = [];
  const contexts: PollingContext[] = [];
  const log: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const plan: (n: number) => RunPlan = options.plan ?? (() => ({}));
  const fn = (ctx: PollingContext): unknown => {
    const n = starts.push(clock.now());
    contexts.push(ctx);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    options.inside?.(n, loop);
    const { ms, fail } = plan(n);
    const settle = (): void => {
      inFlight--;
      ends.push(clock.now());
      if (fail) throw new Error(`run ${n}`);
    };
    if (ms === undefined) return settle();
    return sleep(clock, ms).then(settle);
  };
  const observer: ManagedLoopObserver = {
    runStarted: (loop) => {
      log.push(`started #${loop.iterations} @${clock.now()}`);
      options.observer?.runStarted?.(loop);
    },
    runSucceeded: (loop, failuresBefore) => {
      log.push(`succeeded #${loop.iterations} (${failuresBefore}) @${clock.now()}`);
      options.observer?.runSucceeded?.(loop, failuresBefore);
    },
    runFailed: (loop, error) => {
      log.push(`failed #${loop.iterations} ${(error as Error).message} @${clock.now()}`);
      options.observer?.runFailed?.(loop, error);
    },
    stopped: (loop) => {
      log.push(`stopped @${clock.now()}`);
      options.observer?.stopped?.(loop);
    },
  };
  const loop = new ManagedLoop('job', fn, settings(options.settings), {
    clock,
    random: options.random ?? (() => 0),
    observer,
  });
  return {
    clock,
    loop,
    starts,
    ends,
    contexts,
    log,
    get maxInFlight() {
      return maxInFlight;
    },
    /** Stops the loop, lets every run settle, and checks that nothing is left behind. */
    async finish(): Promise<void> {
      const stopped = observe(loop.stop(), clock);
      await clock.advance(10_000);
      expect(stopped.state).toBe('resolved');
      expect(loop.inFlight).toBe(false);
      expect(clock.pendingTimers).toBe(0);
      expect(maxInFlight).toBeLessThanOrEqual(1);
      expect(loop.iterations).toBe(starts.length);
    },
  };
}
