/*
 * Backoff.step(), exponentialBackoffManager() and jitteredBackoffManager().
 *
 * Ports (k8s.io/apimachinery/pkg/util/wait/wait_test.go):
 * - TestBackoff_Step (every row but the nil *Backoff one, which has no TypeScript equivalent;
 *   seconds become milliseconds; jitter rows checked against [base, base * (1 + jitter)) for
 *   seeds 0..4 and with a fixed random, and for non-compounding)
 * - TestExponentialBackoffManagerGetNextBackoff (FakeClock)
 * - TestJitteredBackoffManagerGetNextBackoff
 * - TestBackoffDelayWithResetExponential, whose idle-reset expectations match
 *   exponentialBackoffManager's (1, 2, 4, 8, 10, 10, 10, then 1 after 11 idle)
 * Semantics from backoff.go delay() and exponentialBackoffManagerImpl.getNextBackoff(); defaults
 * and bad-input rules from DESIGN.md §3.
 */
import { jest } from '@jest/globals';
import {
  Backoff,
  exponentialBackoffManager,
  jitteredBackoffManager,
  type BackoffOptions,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { seeded } from '../support/helpers.js';

function steps(backoff: Backoff, n: number): number[] {
  return Array.from({ length: n }, () => backoff.step());
}

const SEEDS = [0, 1, 2, 3, 4];

describe('Backoff', () => {
  describe('step(): TestBackoff_Step rows without jitter', () => {
    // Go's Factor defaults to 0; this port defaults it to 1, so Go's zero factor is spelled out.
    it.each<[string, BackoffOptions, number[]]>([
      ['{1s, Steps: -1}', { duration: 1_000, factor: 0, steps: -1 }, [1_000, 1_000, 1_000]],
      ['{1s, Steps: 0}', { duration: 1_000, factor: 0, steps: 0 }, [1_000, 1_000, 1_000]],
      [
        '{1s, Steps: 1} (Factor 0)',
        { duration: 1_000, factor: 0, steps: 1 },
        [1_000, 1_000, 1_000],
      ],
      [
        '{1s, Factor: 1, Steps: 1}',
        { duration: 1_000, factor: 1, steps: 1 },
        [1_000, 1_000, 1_000],
      ],
      [
        '{1s, Factor: 2, Steps: 3}',
        { duration: 1_000, factor: 2, steps: 3 },
        [1_000, 2_000, 4_000],
      ],
      [
        '{1s, Factor: 2, Steps: 3, Cap: 3s}',
        { duration: 1_000, factor: 2, steps: 3, cap: 3_000 },
        [1_000, 2_000, 3_000],
      ],
    ])('%s', (_name, options, want) => {
      for (const seed of SEEDS) {
        expect(steps(new Backoff(options, seeded(seed)), want.length)).toEqual(want);
      }
    });

    it('{1s, x2, steps 3} gives 1s, 2s, 4s, 8s, 8s (DESIGN §3)', () => {
      const b = new Backoff({ duration: '1s', factor: 2, steps: 3 });
      expect(steps(b, 5)).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
      expect(b.steps).toBe(0);
      expect(b.duration).toBe(8_000);
    });

    it('with cap: 1s, 2s, 3s, 3s, 3s', () => {
      const b = new Backoff({ duration: '1s', factor: 2, steps: 3, cap: '3s' });
      expect(steps(b, 5)).toEqual([1_000, 2_000, 3_000, 3_000, 3_000]);
    });

    it('returns the current duration and stores duration * factor for the next call', () => {
      const b = new Backoff({ duration: 10, factor: 3, steps: 5 });
      expect(b.step()).toBe(10);
      expect(b.duration).toBe(30);
      expect(b.steps).toBe(4);
      expect(b.step()).toBe(30);
      expect(b.duration).toBe(90);
      expect(b.steps).toBe(3);
    });

    it('reads its (public, mutable) fields at each step, as in Go', () => {
      const b = new Backoff({ duration: 10, factor: 2, steps: 5 });
      b.step();
      b.duration = 7;
      b.factor = 10;
      expect(b.step()).toBe(7);
      expect(b.duration).toBe(70);
    });
  });

  describe('step(): TestBackoff_Step rows with jitter', () => {
    // Go's row lists want = 2s, 3s, 3s with a one-sided check; the values delay() actually
    // jitters are the pre-step durations 1s, 2s, 3s (backoff.go delay()).
    const capped: BackoffOptions = {
      duration: 1_000,
      factor: 2,
      steps: 2,
      cap: 3_000,
      jitter: 0.5,
    };
    const big: BackoffOptions = { duration: 1_000, factor: 2, steps: 6, jitter: 4 };

    it.each<[string, BackoffOptions, number[]]>([
      ['{1s, Factor: 2, Steps: 2, Cap: 3s, Jitter: 0.5}', capped, [1_000, 2_000, 3_000]],
      ['{1s, Factor: 2, Steps: 6, Jitter: 4}', big, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000]],
    ])('%s: each value in [base, base * (1 + jitter)), seeds 0..4', (_name, options, bases) => {
      const jitterFactor = options.jitter!;
      for (const seed of SEEDS) {
        const got = steps(new Backoff(options, seeded(seed)), bases.length);
        got.forEach((value, i) => {
          expect(value).toBeGreaterThanOrEqual(bases[i]);
          expect(value).toBeLessThan(bases[i] * (1 + jitterFactor));
        });
        // Go's "no jitter" check: a seeded random does not land every value on its base.
        expect(got).not.toEqual(bases);
      }
    });

    it('capped row with a fixed random: 1250, 2500, 3750; stored durations stay unjittered', () => {
      const b = new Backoff(capped, () => 0.5);
      expect(b.step()).toBe(1_250);
      expect(b.duration).toBe(2_000);
      expect(b.step()).toBe(2_500);
      expect(b.duration).toBe(3_000);
      expect(b.steps).toBe(0);
      expect(b.step()).toBe(3_750);
      expect(b.duration).toBe(3_000);
      expect(b.step()).toBe(3_750);
    });

    it('jitter 4 with a fixed random: 3 x base each time (jitter does not compound)', () => {
      const b = new Backoff(big, () => 0.5);
      expect(steps(b, 6)).toEqual([3_000, 6_000, 12_000, 24_000, 48_000, 96_000]);
      expect(b.duration).toBe(64_000);
      expect(b.steps).toBe(0);
    });

    it('steps < 1 with jitter: the duration is jittered but never changes', () => {
      const b = new Backoff({ duration: 100, factor: 2, steps: 0, jitter: 1 }, () => 0.25);
      expect(steps(b, 3)).toEqual([125, 125, 125]);
      expect(b.duration).toBe(100);
    });

    it('jitter <= 0 means no jitter (random is not called)', () => {
      const random = jest.fn(() => 0.5);
      const b = new Backoff({ duration: 100, factor: 2, steps: 3, jitter: -1 }, random);
      expect(steps(b, 3)).toEqual([100, 200, 400]);
      expect(random).not.toHaveBeenCalled();
    });

    it('defaults random to Math.random', () => {
      const spy = jest.spyOn(Math, 'random').mockReturnValue(0.5);
      try {
        expect(new Backoff({ duration: 100, jitter: 1 }).step()).toBe(150);
        expect(spy).toHaveBeenCalled();
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe('step(): edge rules of delay()', () => {
    it('normalises negative steps to 0', () => {
      const b = new Backoff({ duration: 100, factor: 2, steps: -5 });
      expect(b.step()).toBe(100);
      expect(b.steps).toBe(0);
      expect(b.duration).toBe(100);
    });

    it('factor 0 keeps the duration but consumes steps', () => {
      const b = new Backoff({ duration: 100, factor: 0, steps: 3 });
      expect(b.step()).toBe(100);
      expect(b.steps).toBe(2);
      expect(b.step()).toBe(100);
      expect(b.steps).toBe(1);
      expect(b.step()).toBe(100);
      expect(b.steps).toBe(0);
      expect(b.step()).toBe(100);
      expect(b.steps).toBe(0);
      expect(b.duration).toBe(100);
    });

    it('factor 0 never applies the cap, even to a duration above it', () => {
      const b = new Backoff({ duration: 5_000, factor: 0, steps: 3, cap: 3_000 });
      expect(steps(b, 4)).toEqual([5_000, 5_000, 5_000, 5_000]);
    });

    it('hitting the cap pins the duration to it and sets steps to 0', () => {
      const b = new Backoff({ duration: 1, factor: 2, steps: 100, cap: 5 });
      expect(steps(b, 3)).toEqual([1, 2, 4]);
      expect(b.duration).toBe(5);
      expect(b.steps).toBe(0);
      expect(steps(b, 2)).toEqual([5, 5]);
    });

    it('a next duration equal to the cap is not "past" it: steps go on', () => {
      const b = new Backoff({ duration: 1, factor: 2, steps: 5, cap: 4 });
      expect(steps(b, 2)).toEqual([1, 2]);
      expect(b.duration).toBe(4);
      expect(b.steps).toBe(3);
    });

    it('a starting duration above the cap is returned once, then the cap', () => {
      const b = new Backoff({ duration: 5_000, factor: 2, steps: 3, cap: 3_000 });
      expect(steps(b, 3)).toEqual([5_000, 3_000, 3_000]);
      expect(b.steps).toBe(0);
    });

    it('steps < 1 does not apply the cap', () => {
      const b = new Backoff({ duration: 5_000, factor: 2, steps: 0, cap: 3_000 });
      expect(steps(b, 2)).toEqual([5_000, 5_000]);
    });

    it('a factor below 1 shrinks the duration', () => {
      const b = new Backoff({ duration: 1_000, factor: 0.5, steps: 3 });
      expect(steps(b, 4)).toEqual([1_000, 500, 250, 125]);
    });

    it('accepts duration strings for duration and cap', () => {
      const b = new Backoff({ duration: '250ms', factor: 2, steps: 5, cap: '1s' });
      expect(steps(b, 4)).toEqual([250, 500, 1_000, 1_000]);
      expect(b.cap).toBe(1_000);
    });

    it('defaults: factor 1, jitter 0, steps 0, cap 0', () => {
      const b = new Backoff({ duration: 100 });
      expect([b.duration, b.factor, b.jitter, b.steps, b.cap]).toEqual([100, 1, 0, 0, 0]);
      expect(steps(b, 3)).toEqual([100, 100, 100]);
    });
  });

  describe('bad options throw naming new Backoff()', () => {
    it.each<[string, unknown, ErrorConstructor]>([
      ['options null', null, TypeError],
      ['options a number', 5, TypeError],
      ['duration missing', {}, TypeError],
      ['duration -1', { duration: -1 }, RangeError],
      ['duration NaN', { duration: NaN }, RangeError],
      ['duration Infinity', { duration: Infinity }, RangeError],
      ['duration "abc"', { duration: 'abc' }, TypeError],
      ['duration "-1s"', { duration: '-1s' }, RangeError],
      ['factor -1', { duration: 1, factor: -1 }, RangeError],
      ['factor NaN', { duration: 1, factor: NaN }, RangeError],
      ['factor Infinity', { duration: 1, factor: Infinity }, RangeError],
      ['jitter NaN', { duration: 1, jitter: NaN }, RangeError],
      ['jitter Infinity', { duration: 1, jitter: Infinity }, RangeError],
      ['steps 1.5', { duration: 1, steps: 1.5 }, RangeError],
      ['steps NaN', { duration: 1, steps: NaN }, RangeError],
      ['cap -1', { duration: 1, cap: -1 }, RangeError],
      ['cap "1x"', { duration: 1, cap: '1x' }, TypeError],
    ])('%s', (_name, options, type) => {
      expect(() => new Backoff(options as BackoffOptions)).toThrow(type);
      expect(() => new Backoff(options as BackoffOptions)).toThrow('new Backoff()');
    });

    it('names the value received', () => {
      expect(() => new Backoff({ duration: 1, factor: -3 })).toThrow('-3');
      expect(() => new Backoff({ duration: 'soon' })).toThrow('"soon"');
    });

    it('random that is not a function -> TypeError', () => {
      expect(() => new Backoff({ duration: 1 }, 0.5 as never)).toThrow(TypeError);
      expect(() => new Backoff({ duration: 1 }, 0.5 as never)).toThrow('new Backoff()');
    });
  });
});

describe('exponentialBackoffManager()', () => {
  const options = (clock: FakeClock) => ({
    initial: 1,
    max: 10,
    resetAfter: 10,
    factor: 2,
    clock,
  });

  it('TestExponentialBackoffManagerGetNextBackoff: 1, 2, 4, 8, 10, 10, 10, then 1 after 11 idle', async () => {
    const clock = new FakeClock();
    const manager = exponentialBackoffManager(options(clock));
    const got = Array.from({ length: 7 }, () => manager.backoff());
    expect(got).toEqual([1, 2, 4, 8, 10, 10, 10]);
    await clock.advance(11);
    expect(manager.backoff()).toBe(1);
    // A reset restores the steps as well as the duration: growth starts over.
    expect([manager.backoff(), manager.backoff(), manager.backoff()]).toEqual([2, 4, 8]);
  });

  it('does not reset after exactly resetAfter (strictly more is needed)', async () => {
    const clock = new FakeClock();
    const manager = exponentialBackoffManager(options(clock));
    expect([manager.backoff(), manager.backoff(), manager.backoff()]).toEqual([1, 2, 4]);
    await clock.advance(10);
    expect(manager.backoff()).toBe(8);
    await clock.advance(10.001);
    expect(manager.backoff()).toBe(1);
  });

  it('measures idle time since the previous call, not since the last reset', async () => {
    const clock = new FakeClock();
    const manager = exponentialBackoffManager(options(clock));
    const got: number[] = [];
    for (let i = 0; i < 6; i++) {
      got.push(manager.backoff());
      await clock.advance(6); // 36 ms in all, but never more than 10 between two calls
    }
    expect(got).toEqual([1, 2, 4, 8, 10, 10]);
  });

  it('jitter applies to returned values only, and may exceed max by jitter * max (Go)', () => {
    const manager = exponentialBackoffManager({
      ...options(new FakeClock()),
      jitter: 1,
      random: () => 0.5,
    });
    const got = Array.from({ length: 6 }, () => manager.backoff());
    expect(got).toEqual([1.5, 3, 6, 12, 15, 15]);
  });

  it('jitter <= 0 means none', () => {
    const random = jest.fn(() => 0.5);
    const manager = exponentialBackoffManager({ ...options(new FakeClock()), jitter: -1, random });
    expect([manager.backoff(), manager.backoff()]).toEqual([1, 2]);
    expect(random).not.toHaveBeenCalled();
  });

  it('accepts duration strings', async () => {
    const clock = new FakeClock();
    const manager = exponentialBackoffManager({
      initial: '1s',
      max: '5s',
      resetAfter: '1m',
      factor: 2,
      clock,
    });
    expect(Array.from({ length: 5 }, () => manager.backoff())).toEqual([
      1_000, 2_000, 4_000, 5_000, 5_000,
    ]);
    await clock.advance('1m');
    expect(manager.backoff()).toBe(5_000);
    await clock.advance('1m1ms');
    expect(manager.backoff()).toBe(1_000);
  });

  describe('bad input throws naming exponentialBackoffManager()', () => {
    const good = { initial: 1, max: 10, resetAfter: 10, factor: 2 };
    it.each<[string, unknown, ErrorConstructor]>([
      ['options null', null, TypeError],
      ['initial -1', { ...good, initial: -1 }, RangeError],
      ['initial "x"', { ...good, initial: 'x' }, TypeError],
      ['max NaN', { ...good, max: NaN }, RangeError],
      ['max "-1s"', { ...good, max: '-1s' }, RangeError],
      ['resetAfter Infinity', { ...good, resetAfter: Infinity }, RangeError],
      ['resetAfter missing', { ...good, resetAfter: undefined }, TypeError],
      ['factor -1', { ...good, factor: -1 }, RangeError],
      ['factor NaN', { ...good, factor: NaN }, RangeError],
      ['jitter NaN', { ...good, jitter: NaN }, RangeError],
      ['clock {}', { ...good, clock: {} }, TypeError],
      ['random 5', { ...good, random: 5 }, TypeError],
    ])('%s', (_name, value, type) => {
      const call = () => exponentialBackoffManager(value as never);
      expect(call).toThrow(type);
      expect(call).toThrow('exponentialBackoffManager()');
    });

    it('factor missing -> TypeError or RangeError', () => {
      const noFactor: Partial<typeof good> = { ...good };
      delete noFactor.factor;
      let caught: unknown;
      try {
        exponentialBackoffManager(noFactor as never);
      } catch (error) {
        caught = error;
      }
      expect(caught instanceof TypeError || caught instanceof RangeError).toBe(true);
      expect((caught as Error).message).toContain('exponentialBackoffManager()');
      expect((caught as Error).message).toContain('factor');
    });
  });
});

describe('jitteredBackoffManager()', () => {
  it('TestJitteredBackoffManagerGetNextBackoff: (1, 1) gives values in [1, 2)', () => {
    for (const seed of SEEDS) {
      const manager = jitteredBackoffManager(1, 1, {
        clock: new FakeClock(),
        random: seeded(seed),
      });
      const got = Array.from({ length: 5 }, () => manager.backoff());
      for (const value of got) {
        expect(value).toBeGreaterThanOrEqual(1);
        expect(value).toBeLessThan(2);
      }
      expect(new Set(got).size).toBeGreaterThan(1); // jitter is drawn anew on every call
    }
  });

  it('(1, 1) is duration + random() * jitter * duration', () => {
    const values = [0, 0.25, 0.5, 0.75];
    const manager = jitteredBackoffManager(1, 1, { random: () => values.shift()! });
    expect([manager.backoff(), manager.backoff(), manager.backoff(), manager.backoff()]).toEqual([
      1, 1.25, 1.5, 1.75,
    ]);
  });

  it('(1, -1) is exactly 1, without calling random', () => {
    const random = jest.fn(() => 0.9);
    const manager = jitteredBackoffManager(1, -1, { clock: new FakeClock(), random });
    expect(Array.from({ length: 5 }, () => manager.backoff())).toEqual([1, 1, 1, 1, 1]);
    expect(random).not.toHaveBeenCalled();
  });

  it('(1, 0) is exactly 1', () => {
    const manager = jitteredBackoffManager(1, 0, { random: () => 0.9 });
    expect(manager.backoff()).toBe(1);
  });

  it('does not depend on time', async () => {
    const clock = new FakeClock();
    const manager = jitteredBackoffManager('1s', 0.5, { clock, random: () => 0.5 });
    expect(manager.backoff()).toBe(1_250);
    await clock.advance('1h');
    expect(manager.backoff()).toBe(1_250);
  });

  it('defaults random to Math.random', () => {
    const spy = jest.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      expect(jitteredBackoffManager(100, 1).backoff()).toBe(150);
    } finally {
      spy.mockRestore();
    }
  });

  describe('bad input throws naming jitteredBackoffManager()', () => {
    it.each<[string, () => unknown, ErrorConstructor]>([
      ['duration -1', () => jitteredBackoffManager(-1, 1), RangeError],
      ['duration NaN', () => jitteredBackoffManager(NaN, 1), RangeError],
      ['duration "abc"', () => jitteredBackoffManager('abc', 1), TypeError],
      ['jitter NaN', () => jitteredBackoffManager(1, NaN), RangeError],
      ['jitter Infinity', () => jitteredBackoffManager(1, Infinity), RangeError],
      ['options null', () => jitteredBackoffManager(1, 1, null as never), TypeError],
      ['clock {}', () => jitteredBackoffManager(1, 1, { clock: {} as never }), TypeError],
      ['random "x"', () => jitteredBackoffManager(1, 1, { random: 'x' as never }), TypeError],
    ])('%s', (_name, call, type) => {
      expect(call).toThrow(type);
      expect(call).toThrow('jitteredBackoffManager()');
    });
  });
});
