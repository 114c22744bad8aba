import type { Clock } from './clock.js';
import { messages } from './wait.messages.js';

/*
 * Argument checks shared by the engine's entry points. Each throws at the call that received the
 * value, naming that call, the argument and the value. Internal: not exported from the package.
 */

/** Returns `value` if it is a function; throws a `TypeError` otherwise. */
export function checkFunction<T>(value: T, where: string, what: string): T {
  if (typeof value !== 'function') throw new TypeError(messages.func(where, what, value));
  return value;
}

/** As {@link checkFunction}, letting `undefined` through. */
export function checkOptionalFunction<T>(value: T, where: string, what: string): T {
  return value === undefined ? value : checkFunction(value, where, what);
}

/** Returns `value` if it is a finite number of any sign; throws a `RangeError` otherwise. Jitter factors use it: `<= 0` means "none", as in Go. */
export function checkFinite(value: unknown, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(messages.number(where, what, value));
  }
  return value;
}

/** Returns `value` if it is a finite number >= 0; throws a `RangeError` otherwise. */
export function checkNonNegative(value: unknown, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(messages.nonNegative(where, what, value));
  }
  return value;
}

/** Returns `value` if it is an integer; throws a `RangeError` otherwise. */
export function checkInteger(value: unknown, where: string, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new RangeError(messages.integer(where, what, value));
  }
  return value;
}

/** Returns `value` if it is a non-null object; throws a `TypeError` otherwise. */
export function checkObject<T>(value: T, where: string, what: string): T {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(messages.object(where, what, value));
  }
  return value;
}

/** Returns `value` if it is an `AbortSignal`; throws a `TypeError` otherwise. */
export function checkSignal(value: unknown, where: string): AbortSignal {
  if (!(value instanceof AbortSignal)) throw new TypeError(messages.signal(where, value));
  return value;
}

/** Returns `value` if it has the three methods of a {@link Clock}; throws a `TypeError` otherwise. */
export function checkClock(value: unknown, where: string): Clock {
  const clock = value as Clock | null;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    throw new TypeError(messages.clock(where, value));
  }
  return clock;
}

/** Unknown keys are typos (`jiter`), caught where they were written. Throws a `TypeError`. */
export function checkKeys(value: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new TypeError(messages.unknownKey(where, key, known));
  }
}
