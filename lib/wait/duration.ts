import { messages } from './wait.messages.js';

/**
 * A duration: a number of milliseconds, or a Go-style string such as `'250ms'`, `'1.5s'` or
 * `'1m30s'` (units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`; `'0'` alone needs no unit). Any `string`
 * type-checks here, so that values from configuration (`process.env`, `ConfigService`) pass; they
 * are checked at run time. Where a literal is written, the functions of the package check it at
 * compile time against {@link DurationString} (see {@link CheckedDuration}).
 */
export type Duration = number | string;

/** The units of a {@link DurationString}, as Go's `time.ParseDuration` reads them. */
export type DurationUnit = 'ns' | 'us' | 'µs' | 'μs' | 'ms' | 's' | 'm' | 'h';

// `${bigint}` rather than `${number}`: TypeScript takes a `${number}` for whatever `+text` reads
// as finite, spaces included (' 1', '1 '), which would let '1 h' through.
type Whole = `${bigint}`;
type Decimal = Whole | `${Whole}.${number}` | `.${number}`;
type Term = `${Whole}${DurationUnit}`;
type LastTerm = `${Decimal}${DurationUnit}`;

/**
 * A duration literal TypeScript can check: `'0'`, or one to three terms of a number and a unit,
 * the last of which may have a fraction (`'250ms'`, `'1.5s'`, `'1m30s'`, `'1h30m'`, `'1h2m3s'`).
 * Refuses `'5'` (no unit), `'1 h'` and `'1h 30m'` (spaces), `'1x'`. Run time accepts more
 * (more terms, fractions anywhere, a sign, leading zeros): such strings need a `string` type.
 * Kept to three terms so that the union stays small (about 1,800 members) for the compiler.
 */
export type DurationString = '0' | LastTerm | `${Term}${LastTerm}` | `${Term}${Term}${LastTerm}`;

/**
 * `T` itself when it is a number, a non-literal `string` (from configuration), or a
 * {@link DurationString}; else `DurationString`, so that a wrong literal fails to compile with
 * `Type '"5"' is not assignable to type 'DurationString'`. For a generic parameter `T` inferred
 * from an argument: `string extends T` tells a wide `string` from a literal.
 */
export type CheckedDuration<T> = T extends string
  ? string extends T
    ? T
    : T extends DurationString
      ? T
      : DurationString
  : T;

/**
 * Whether `V` (a property type of an options interface) is exactly `Duration`, optional or not,
 * or nullable (`null` clears a setting in `PollingRegistry.update()`).
 */
type IsDuration<V> = [Exclude<V, undefined | null>] extends [Duration]
  ? [Duration] extends [Exclude<V, undefined | null>]
    ? true
    : false
  : false;

/**
 * The options object `T`, inferred from an argument typed `Shape`, with each `Duration` property
 * (nested objects included) checked by {@link CheckedDuration}. A key `Shape` lacks becomes
 * `never`: a generic argument escapes TypeScript's excess-property check, so this keeps typos
 * (`jiter`) from compiling.
 */
export type CheckedOptions<T, Shape> = {
  [K in keyof T]: K extends keyof Shape
    ? IsDuration<Shape[K]> extends true
      ? CheckedDuration<T[K]>
      : T[K] extends Record<string, unknown>
        ? CheckedOptions<T[K], Exclude<Shape[K], undefined | null>>
        : T[K]
    : never;
};

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu, as Go accepts both
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const TERM = /(\d*\.?\d*)([^\d.]+)/y;

/**
 * Converts a {@link Duration} to milliseconds, the way Go's `time.ParseDuration` reads strings.
 * Negative, `NaN` or infinite values throw a `RangeError`; strings without a known unit (`'5'`,
 * `'1x'`, `'abc'`) throw a `TypeError`. Both quote the value received.
 */
export function parseDuration<const T extends Duration>(value: CheckedDuration<T>): number {
  return toMillis(value, 'parseDuration()', 'the duration');
}

/** {@link parseDuration} with the caller's name and the argument's role in the error message. */
export function toMillis(value: unknown, where: string, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(messages.durationRange(where, what, value));
    }
    return value;
  }
  if (typeof value !== 'string') throw new TypeError(messages.durationType(where, what, value));
  return parseText(value, where, what);
}

/** Whether `text` would be a duration without its spaces (`'1h 30m'`): then the fix is shown. */
function spaceless(text: string): boolean {
  try {
    parseText(text.replace(/\s+/g, ''), '', '');
    return true;
  } catch {
    return false;
  }
}

function parseText(text: string, where: string, what: string): number {
  let rest = text.trim();
  const negative = rest.startsWith('-');
  if (negative || rest.startsWith('+')) rest = rest.slice(1);
  if (rest === '0') return 0;
  if (rest === '') throw new TypeError(messages.durationSyntax(where, what, text, 'it is empty'));
  if (/\s/.test(rest) && spaceless(text)) {
    throw new TypeError(messages.durationSpaces(where, what, text, text.replace(/\s+/g, '')));
  }
  let total = 0;
  let at = 0;
  while (at < rest.length) {
    TERM.lastIndex = at;
    const match = TERM.exec(rest);
    if (match === null || match[1] === '' || match[1] === '.') {
      const why = /^\d*\.?\d*$/.test(rest.slice(at))
        ? 'it ends without a unit'
        : 'a unit lacks its number';
      throw new TypeError(messages.durationSyntax(where, what, text, why));
    }
    const unit = UNIT_MS[match[2]];
    if (unit === undefined) {
      throw new TypeError(
        messages.durationSyntax(where, what, text, `unknown unit ${JSON.stringify(match[2])}`),
      );
    }
    total += Number(match[1]) * unit;
    at = TERM.lastIndex;
  }
  // Decimal fractions are inexact in binary ('1.1s' would be 1100.0000000000002): round to whole
  // nanoseconds, Go's resolution.
  total = Math.round(total * 1e6) / 1e6;
  if (negative && total > 0) throw new RangeError(messages.durationRange(where, what, text));
  if (!Number.isFinite(total)) throw new RangeError(messages.durationRange(where, what, text));
  return total;
}
