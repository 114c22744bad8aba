/*
 * jitter(): Go's wait.Jitter.
 *
 * Ports (k8s.io/apimachinery/pkg/util/wait):
 * - wait.go Jitter(): `d + rand*maxFactor*d`, with `maxFactor <= 0` meaning 1.0. Go has no
 *   dedicated TestJitter; the formula is exercised through wait_test.go TestBackoff_Step (jitter
 *   rows), TestJitteredBackoffManagerGetNextBackoff and TestBackoffDelayWithResetJitter, whose
 *   bounds checks ([d, d * (1 + factor))) are mirrored here.
 * Bad input rules come from DESIGN.md §3 ("Bad input").
 */
import { jest } from '@jest/globals';
import { jitter } from '../../lib/index.js';
import { seeded } from '../support/helpers.js';

describe('jitter()', () => {
  describe('d + random() * f * d', () => {
    it.each<[number, number, number, number]>([
      [100, 0.5, 0, 100],
      [100, 0.5, 0.5, 125],
      [100, 0.5, 0.25, 112.5],
      [100, 1, 0.75, 175],
      [1_000, 4, 0.5, 3_000],
      [8, 0.25, 0.5, 9],
      [0, 1, 0.5, 0],
      [0, 100, 0.99, 0],
    ])('jitter(%p, %p, () => %p) === %p', (d, f, r, want) => {
      expect(jitter(d, f, () => r)).toBe(want);
    });

    it('stays below d * (1 + f) as random() approaches 1', () => {
      const r = 0.999999;
      expect(jitter(100, 0.5, () => r)).toBeLessThan(150);
      expect(jitter(100, 0.5, () => r)).toBeCloseTo(149.99995, 10);
    });

    it('calls random exactly once per call', () => {
      const random = jest.fn(() => 0.5);
      jitter(100, 1, random);
      expect(random).toHaveBeenCalledTimes(1);
    });

    it.each([0, 1, 2, 3, 4])('seed %p: 100 draws fall in [d, d * (1 + f))', (seed) => {
      const random = seeded(seed);
      for (let i = 0; i < 100; i++) {
        const got = jitter(1_000, 0.5, random);
        expect(got).toBeGreaterThanOrEqual(1_000);
        expect(got).toBeLessThan(1_500);
      }
    });
  });

  describe('f <= 0 means 1.0 (Go)', () => {
    it.each([0, -0, -1, -30, -0.5])('jitter(100, %p, () => 0.5) === 150', (f) => {
      expect(jitter(100, f, () => 0.5)).toBe(150);
    });

    it('a non-positive factor still adds up to d, never subtracts', () => {
      expect(jitter(100, -1, () => 0)).toBe(100);
      expect(jitter(100, -1, () => 0.999)).toBeCloseTo(199.9, 10);
    });
  });

  describe('default random', () => {
    afterEach(() => jest.restoreAllMocks());

    it('uses Math.random, looked up at call time', () => {
      const spy = jest.spyOn(Math, 'random').mockReturnValue(0.25);
      expect(jitter(200, 1)).toBe(250);
      expect(spy).toHaveBeenCalledTimes(1);
    });

    it('falls in [d, d * (1 + f)) with the real Math.random', () => {
      for (let i = 0; i < 100; i++) {
        const got = jitter(10, 2);
        expect(got).toBeGreaterThanOrEqual(10);
        expect(got).toBeLessThan(30);
      }
    });
  });

  describe('bad input throws naming jitter()', () => {
    it.each<[string, unknown, string]>([
      ['-1', -1, '-1'],
      ['-0.5', -0.5, '-0.5'],
      ['NaN', NaN, 'NaN'],
      ['Infinity', Infinity, 'Infinity'],
      ['a string', '100ms', '"100ms"'],
      ['undefined', undefined, 'undefined'],
    ])('duration %s -> RangeError', (_name, d, shown) => {
      expect(() => jitter(d as number, 1, () => 0.5)).toThrow(RangeError);
      expect(() => jitter(d as number, 1, () => 0.5)).toThrow('jitter()');
      expect(() => jitter(d as number, 1, () => 0.5)).toThrow(shown);
    });

    it.each<[string, unknown, string]>([
      ['NaN', NaN, 'NaN'],
      ['Infinity', Infinity, 'Infinity'],
      ['-Infinity', -Infinity, '-Infinity'],
      ['a string', '1', '"1"'],
    ])('maxFactor %s -> RangeError', (_name, f, shown) => {
      expect(() => jitter(100, f as number, () => 0.5)).toThrow(RangeError);
      expect(() => jitter(100, f as number, () => 0.5)).toThrow('jitter()');
      expect(() => jitter(100, f as number, () => 0.5)).toThrow(shown);
    });

    it.each<[string, unknown]>([
      ['a number', 0.5],
      ['null', null],
      ['a string', 'random'],
      ['an object', { random: () => 0.5 }],
    ])('random that is %s -> TypeError', (_name, random) => {
      expect(() => jitter(100, 1, random as () => number)).toThrow(TypeError);
      expect(() => jitter(100, 1, random as () => number)).toThrow('jitter()');
      expect(() => jitter(100, 1, random as () => number)).toThrow('random');
    });

    it('checks before calling random', () => {
      const random = jest.fn(() => 0.5);
      expect(() => jitter(-1, 1, random)).toThrow(RangeError);
      expect(() => jitter(1, NaN, random)).toThrow(RangeError);
      expect(random).not.toHaveBeenCalled();
    });
  });
});
