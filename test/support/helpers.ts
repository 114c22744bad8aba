import type { FakeClock } from '../../lib/testing/index.js';

/** A promise that resolves after `ms` of fake time. */
export function sleep(clock: FakeClock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Tracks whether a promise has settled, and how, without awaiting it. */
export function track<T>(promise: Promise<T>): {
  readonly settled: boolean;
  readonly value?: T;
  readonly error?: unknown;
  readonly rejected: boolean;
} {
  const state: { settled: boolean; value?: T; error?: unknown; rejected: boolean } = {
    settled: false,
    rejected: false,
  };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, rejected: true, error }),
  );
  return state;
}
