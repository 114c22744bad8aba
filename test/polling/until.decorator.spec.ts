import 'reflect-metadata';
import { Until, type UntilDecorator } from '../../lib/index.js';
import { UNTIL_METADATA } from '../../lib/polling/polling.constants.js';
import type { LoopPlan } from '../../lib/polling/until-options.checker.js';
import { configured } from '../support/helpers.js';

/* `@Until()` checks its arguments when the class is defined, naming ClassName.methodName. */

function planOf(method: unknown): LoopPlan {
  return Reflect.getMetadata(UNTIL_METADATA, method as object) as LoopPlan;
}

/** Applies `decorator` to a fresh method `tick` of a class named `name`, as TypeScript would. */
function decorate(decorator: UntilDecorator, name = 'Collector'): unknown {
  const cls = { [name]: class {} }[name];
  const proto = cls.prototype as Record<string, unknown>;
  proto.tick = function tick() {};
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'tick')!;
  decorator(proto, 'tick', descriptor);
  return proto.tick;
}

describe('@Until() forms', () => {
  it('(period): sliding, no jitter, no initial delay, autoStart, default name left to the explorer', () => {
    expect(planOf(decorate(Until('1m')))).toEqual({
      name: undefined,
      period: 60_000,
      jitter: 0,
      sliding: true,
      initialDelay: 0,
      backoff: undefined,
      autoStart: true,
    });
  });

  it('(period, jitter, sliding) as in Go JitterUntil', () => {
    const plan = planOf(decorate(Until('5m', 0.1, false)));
    expect([plan.period, plan.jitter, plan.sliding]).toEqual([300_000, 0.1, false]);
  });

  it('(period, options)', () => {
    const plan = planOf(
      decorate(
        Until(250, {
          name: 'gc',
          jitter: 0.5,
          sliding: false,
          initialDelay: '2s',
          autoStart: false,
        }),
      ),
    );
    expect(plan).toMatchObject({
      name: 'gc',
      period: 250,
      jitter: 0.5,
      sliding: false,
      initialDelay: 2000,
      autoStart: false,
    });
  });

  it('({ period, ...options }) with a backoff: factor 2, jitter 0 and no reset interval by default', () => {
    const plan = planOf(
      decorate(Until({ period: '1s', backoff: { initial: '100ms', max: '1m' } })),
    );
    expect(plan.backoff).toEqual({
      initial: 100,
      max: 60_000,
      factor: 2,
      jitter: 0,
      resetAfter: Number.MAX_SAFE_INTEGER,
    });
  });

  it('a negative jitter means none, as in Go (TestJitterUntilNegativeFactor)', () => {
    expect(planOf(decorate(Until(10, -1))).jitter).toBe(-1);
  });
});

describe('@Until() bad arguments throw at class definition', () => {
  it.each([
    [
      'a negative period',
      () => Until(-1),
      /@Until\(\) on Collector\.tick: period must be a finite duration >= 0; got -1/,
    ],
    [
      'an unparsable period',
      () => Until(configured('soon')),
      /@Until\(\) on Collector\.tick: period "soon" is not a duration/,
    ],
    [
      'a NaN jitter',
      () => Until('1s', NaN),
      /@Until\(\) on Collector\.tick: jitter must be a finite number; got NaN/,
    ],
    [
      'an infinite jitter',
      () => Until('1s', Infinity),
      /jitter must be a finite number; got Infinity/,
    ],
    [
      'a non-boolean sliding',
      () => Until('1s', 0, 'no' as unknown as boolean),
      /sliding must be true or false; got "no"/,
    ],
    [
      'a typo in options',
      () => Until('1s', { jiter: 0.1 } as never),
      /unknown option "jiter"; the options are name, jitter/,
    ],
    [
      'an empty name',
      () => Until({ period: 1, name: '' }),
      /the loop's name must be a non-empty string; got ""/,
    ],
    [
      'a bad backoff',
      () => Until({ period: 1, backoff: { initial: configured('x'), max: 1 } }),
      /backoff\.initial "x" is not a duration/,
    ],
    [
      'a negative backoff factor',
      () => Until({ period: 1, backoff: { initial: 1, max: 1, factor: -2 } }),
      /backoff\.factor must be a finite number >= 0; got -2/,
    ],
    [
      'a third argument after options',
      () => (Until as (...a: unknown[]) => UntilDecorator)('1s', {}, true),
      /there is no third/,
    ],
  ])('%s', (_label, make, message) => {
    expect(() => decorate(make())).toThrow(message);
  });

  it('a getter', () => {
    expect(() => {
      class Collector {
        // @ts-expect-error -- an accessor does not compile; the run-time check is for JavaScript
        @Until('1s')
        get tick(): number {
          return 1;
        }
      }
      return Collector;
    }).toThrow(
      '@Until() on Collector.tick: @Until() decorates instance methods; this is an accessor (get/set)',
    );
  });

  it('a static method', () => {
    expect(() => {
      class Collector {
        @Until('1s')
        static tick(): void {}
      }
      return Collector;
    }).toThrow(
      '@Until() on Collector.tick: @Until() decorates instance methods; this is a static method',
    );
  });

  /*
   * Placements TypeScript rejects, applied by hand as experimentalDecorators would (plain
   * JavaScript, `as any`): a field gets (prototype, key) and no descriptor, a parameter its index,
   * a class the class alone. Each error names what was decorated and what @Until() accepts.
   */
  describe('on something other than a method', () => {
    const accepts =
      "@Until() decorates instance methods; this is %KIND%. Put it on a method of the class, which receives the loop's context: @Until('1m') collect(ctx: PollingContext) {}";
    const message = (where: string, kind: string): string =>
      `${where}: ${accepts.replace('%KIND%', kind)}`;
    class Collector {}
    // Untyped: these are the placements TypeScript refuses.
    const decorator = Until('1s') as unknown as (...args: unknown[]) => void;

    it.each([
      [
        'a property (a class field)',
        () => decorator(Collector.prototype, 'tick'),
        message('@Until() on Collector.tick', 'a property (a class field)'),
      ],
      [
        'a static property',
        () => decorator(Collector, 'tick'),
        message('@Until() on Collector.tick', 'a static property'),
      ],
      ['a class', () => decorator(Collector), message('@Until() on class Collector', 'a class')],
      [
        "a method's parameter",
        () => decorator(Collector.prototype, 'tick', 1),
        message('@Until() on the parameter at index 1 of Collector.tick', 'a parameter'),
      ],
      [
        "a constructor's parameter",
        () => decorator(Collector, undefined, 0),
        message(
          '@Until() on the parameter at index 0 of the constructor of Collector',
          'a parameter',
        ),
      ],
    ])('%s', (_label, apply, expected) => {
      expect(apply).toThrow(new TypeError(expected));
      expect(apply).toThrow(TypeError);
    });
  });

  it('twice on one method', () => {
    expect(() => {
      class Collector {
        @Until('1s')
        @Until('2s')
        tick(): void {}
      }
      return Collector;
    }).toThrow('@Until() on Collector.tick: the method has @Until() twice');
  });

  it('the error is a TypeError or RangeError, not a bare Error', () => {
    expect(() => decorate(Until(-1))).toThrow(RangeError);
    expect(() => decorate(Until({} as never))).toThrow(TypeError);
  });
});
