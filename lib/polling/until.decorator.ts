import 'reflect-metadata';
import type { CheckedDuration, CheckedOptions, Duration } from '../wait/internal.js';
import { UNTIL_METADATA } from './polling.constants.js';
import { messages, misplaced, places } from './polling.messages.js';
import type { PollingFn } from './polling.interfaces.js';
import { planFromArguments } from './until-options.checker.js';
import type { LoopDefinition, UntilOptions } from './until.options.js';

/**
 * What `@Until(...)` returns: a decorator for methods whose parameters a {@link PollingContext}
 * fits: none, `(ctx: LoopContext)`, `({ signal }: PollingContext)`, optional extras. It may be
 * async and return anything. A method that needs another argument (`(id: number)`), an accessor,
 * a field or a class do not compile.
 */
export type UntilDecorator = <T extends PollingFn>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<T>,
) => void;

/**
 * Runs the decorated method as a Kubernetes-style loop (Go's `wait.JitterUntil`) for the life of
 * the application: the first run at bootstrap, the next `period` after it (sliding, the default)
 * or `period` after its start (`sliding: false`), never two runs at once, stopped with the app.
 * The method receives a {@link PollingContext} (`signal`, `iteration`, `name`); its errors are logged and
 * the loop goes on. The provider must be a singleton. Defaults: jitter 0, sliding true, no
 * initial delay, no backoff, name `'ClassName.methodName'`.
 *
 * Arguments are checked when the class is defined: a bad period, jitter or option throws there,
 * naming `ClassName.methodName` and the value. Duration literals are checked at compile time too
 * (`'5'` or `'1 h'` do not compile; see `DurationString`); a `string` from configuration passes.
 *
 * @example
 * ```ts
 * @Until('1m')                      // every minute, counted from the end of a run
 * @Until('5m', 0.1, false)          // every 5 min from the start of a run, up to 10% later
 * @Until('30s', { backoff: { initial: '1s', max: '5m' } })
 * @Until({ period: '1h', name: 'reports' })
 * ```
 */
export function Until<const P extends Duration>(
  period: CheckedDuration<P>,
  jitter?: number,
  sliding?: boolean,
): UntilDecorator;
/** `@Until(period, options)`: see the first signature. */
export function Until<const P extends Duration, const O extends UntilOptions>(
  period: CheckedDuration<P>,
  options: CheckedOptions<O, UntilOptions>,
): UntilDecorator;
/** `@Until({ period, ...options })`: see the first signature. */
export function Until<const D extends LoopDefinition>(
  definition: CheckedOptions<D, LoopDefinition>,
): UntilDecorator;
export function Until(first: unknown, second?: unknown, third?: unknown): UntilDecorator {
  // Typed for methods, but TypeScript's checks can be bypassed (plain JavaScript, `as any`), and
  // experimentalDecorators calls a decorator on a field with no descriptor, on a parameter with
  // its index, on a class with the class alone: each is named here.
  return (target: object, key?: string | symbol, descriptor?: unknown): void => {
    const isStatic = typeof target === 'function';
    const owner = isStatic ? (target as { name: string }).name : target.constructor.name;
    if (key === undefined && typeof descriptor !== 'number') {
      throw new TypeError(messages.notAMethod(places.untilOnClass(owner), misplaced.class));
    }
    if (typeof descriptor === 'number') {
      const method = key === undefined ? undefined : String(key);
      const where = places.untilOnParameter(descriptor, owner, method);
      throw new TypeError(messages.notAMethod(where, misplaced.parameter));
    }
    const where = places.until(`${owner}.${String(key)}`);
    if (descriptor === undefined) {
      const kind = isStatic ? misplaced.staticProperty : misplaced.field;
      throw new TypeError(messages.notAMethod(where, kind));
    }
    if (isStatic) throw new TypeError(messages.notAMethod(where, misplaced.staticMethod));
    const {
      value: method,
      get,
      set,
    } = descriptor as { value?: unknown; get?: unknown; set?: unknown };
    if (get !== undefined || set !== undefined) {
      throw new TypeError(messages.notAMethod(where, misplaced.accessor));
    }
    if (typeof method !== 'function')
      throw new TypeError(messages.notAMethod(where, misplaced.notAFunction));
    if (Reflect.hasOwnMetadata(UNTIL_METADATA, method))
      throw new TypeError(messages.decoratedTwice(where));
    Reflect.defineMetadata(UNTIL_METADATA, planFromArguments(where, first, second, third), method);
  };
}
