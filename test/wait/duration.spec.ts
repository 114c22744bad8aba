/*
 * parseDuration(): the engine's reading of durations.
 *
 * Ports (as far as the engine's duration strings go) the behaviour of Go's time.ParseDuration,
 * which every Go duration in k8s.io/apimachinery/pkg/util/wait goes through. The wait package has
 * no duration test of its own; the Go cases mirrored here come from the standard library's
 * time/time_test.go:
 * - TestParseDuration (valid strings: units, fractions, '.5s', '+1s', '0', both micro signs)
 * - TestParseDurationErrors ('', '3', '-', 's', '.', '-.', '.s', '+.s', '1d', '1.5.5s'-like input)
 * The project-specific rules (milliseconds, no negatives, TypeError/RangeError naming the call and
 * the value) come from DESIGN.md §3, "Bad input".
 */
import { parseDuration } from '../../lib/index.js';

describe('parseDuration()', () => {
  describe('numbers are milliseconds', () => {
    it.each([0, 1, 250, 1.5, 0.001, 2 ** 31, 2 ** 40])('%p -> itself', (value) => {
      expect(parseDuration(value)).toBe(value);
    });
  });

  describe('Go-style strings', () => {
    it.each<[string, number]>([
      ['0', 0],
      ['+0', 0],
      ['250ms', 250],
      ['1s', 1_000],
      ['1.5s', 1_500],
      ['.5s', 500],
      ['1.s', 1_000],
      ['+1s', 1_000],
      ['1m', 60_000],
      ['1m30s', 90_000],
      ['2h', 7_200_000],
      ['2h45m', 9_900_000],
      ['1h1m1s1ms', 3_661_001],
      ['100us', 0.1],
      ['100µs', 0.1], // U+00B5 MICRO SIGN
      ['100μs', 0.1], // U+03BC GREEK SMALL LETTER MU
      ['1ns', 0.000001],
      ['1000000ns', 1],
      ['1500us', 1.5],
      ['0s', 0],
      ['0.000ms', 0],
    ])('%p -> %p ms', (text, ms) => {
      expect(parseDuration(text)).toBe(ms);
    });

    it('accepts both micro signs as the same unit', () => {
      expect(parseDuration('7\u00b5s')).toBe(parseDuration('7\u03bcs'));
      expect(parseDuration('7\u00b5s')).toBe(parseDuration('7us'));
    });
  });

  describe('rounding to whole nanoseconds', () => {
    it.each<[string, number]>([
      ['1.1s', 1_100],
      ['0.3s', 300],
      ['2.675s', 2_675],
      ['0.1s0.2s', 300],
      ['1.1ms', 1.1],
      ['1.0000000001ms', 1], // below a nanosecond: rounded away, as Go's int64 nanoseconds
    ])('%p === %p (no binary fraction noise)', (text, ms) => {
      expect(parseDuration(text)).toBe(ms);
    });
  });

  describe('bad input', () => {
    it.each<[string, unknown]>([
      ['-1', -1],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
      ['"-1s"', '-1s'],
      ['"-1m30s"', '-1m30s'],
    ])('%s -> RangeError naming parseDuration() and the value', (shown, value) => {
      expect(() => parseDuration(value as never)).toThrow(RangeError);
      expect(() => parseDuration(value as never)).toThrow('parseDuration()');
      expect(() => parseDuration(value as never)).toThrow(shown);
    });

    it.each<[string, unknown]>([
      ['""', ''],
      ['"abc"', 'abc'],
      ['"5"', '5'], // Go: "missing unit in duration"
      ['"1x"', '1x'], // Go: "unknown unit"
      ['"1d"', '1d'],
      ['"1h5"', '1h5'],
      ['"1.5.5s"', '1.5.5s'],
      ['"s"', 's'],
      ['"."', '.'],
      ['".s"', '.s'],
      ['"+.s"', '+.s'],
      ['"-"', '-'],
      ['"1 s"', '1 s'],
      ['"ms"', 'ms'],
      ['"1S"', '1S'], // units are case-sensitive in Go
    ])('%s -> TypeError naming parseDuration() and quoting the value', (shown, value) => {
      expect(() => parseDuration(value as never)).toThrow(TypeError);
      expect(() => parseDuration(value as never)).toThrow('parseDuration()');
      expect(() => parseDuration(value as never)).toThrow(shown);
    });

    it.each<[string, unknown]>([
      ['null', null],
      ['undefined', undefined],
      ['true', true],
      ['an object', {}],
      ['an object', []],
      ['an object', new Date(0)],
    ])('non-duration value -> TypeError naming parseDuration() and showing %s', (shown, value) => {
      expect(() => parseDuration(value as never)).toThrow(TypeError);
      expect(() => parseDuration(value as never)).toThrow('parseDuration()');
      expect(() => parseDuration(value as never)).toThrow(shown);
    });

    it('a bigint is not a duration', () => {
      expect(() => parseDuration(10n as never)).toThrow(TypeError);
    });

    it.each([
      ['1h 30m', '1h30m'],
      [' 1m 30s ', '1m30s'],
    ])('spaces inside %j are named, with the fix %j', (text, fixed) => {
      expect(() => parseDuration(text)).toThrow(
        `parseDuration(): the duration ${JSON.stringify(text)} is not a duration (spaces are not allowed inside one); write ${JSON.stringify(fixed)}`,
      );
    });
  });
});

describe('parseDuration()', () => {
  // duration.ts: only a negative non-zero total is out of range; Go reads '-0s' as 0.
  it("reads '-0s' and '-0.0ms' as 0, as Go does", () => {
    expect(parseDuration('-0s')).toBe(0);
    expect(parseDuration('-0.0ms')).toBe(0);
    expect(() => parseDuration('-1ns')).toThrow(RangeError);
  });
});
