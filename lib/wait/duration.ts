import { messages } from './wait.messages.js';

/**
 * A duration: a number of milliseconds, or a Go-style string such as `'250ms'`, `'1.5s'` or
 * `'1m30s'` (units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`; `'0'` alone needs no unit).
 */
export type Duration = number | string;

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
export function parseDuration(value: Duration): number {
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
