/**
 * A source of time and timers. The engine reads time and arms timers only through a `Clock`, so
 * tests can drive every loop by hand with `FakeClock` from `nestjs-wait/testing`.
 */
export interface Clock {
  /** The current time in milliseconds, from an arbitrary origin; must never go backwards. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer armed by {@link Clock.setTimeout}; unknown handles are ignored. */
  clearTimeout(handle: unknown): void;
}

/**
 * The process's clock: monotonic `performance.now()` and the global timers. Both are looked up
 * at call time, not import time, so Jest's and Sinon's fake timers, installed after this module
 * loaded, drive it too.
 */
export const realClock: Clock = Object.freeze({
  now: (): number => globalThis.performance.now(),
  setTimeout: (fn: () => void, ms: number): unknown => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle: unknown): void =>
    globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
});

/**
 * The wall-clock time (epoch milliseconds) of a time read from `clock`, for status pages:
 * `realClock` counts from `performance.timeOrigin`; any other clock's time is taken as epoch
 * milliseconds (so `new FakeClock(0)` reads as 1970-01-01, and `new FakeClock(Date.now())` as now).
 */
export function epochOf(clock: Clock, time: number): number {
  return clock === realClock ? globalThis.performance.timeOrigin + time : time;
}
