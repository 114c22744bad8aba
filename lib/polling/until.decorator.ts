import 'reflect-metadata';
import type { Duration } from '../wait/duration.js';
import { UNTIL_METADATA } from './polling.constants.js';
import { messages } from './polling.messages.js';
import { planFromArguments, type LoopDefinition, type UntilOptions } from './until.options.js';

/**
 * Runs the decorated method as a Kubernetes-style loop (Go's `wait.JitterUntil`) for the life of
 * the application: the first run at bootstrap, the next `period` after it (sliding, the default)
 * or `period` after its start (`sliding: false`), never two runs at once, stopped with the app.
 * The method receives a `LoopContext` (`signal`, `iteration`, `name`); its errors are logged and
 * the loop goes on. The provider must be a singleton. Defaults: jitter 0, sliding true, no
 * initial delay, no backoff, name `'ClassName.methodName'`.
 *
 * Arguments are checked when the class is defined: a bad period, jitter or option throws there,
 * naming `ClassName.methodName` and the value.
 *
 * @example
 * ```ts
 * @Until('1m')                      // every minute, counted from the end of a run
 * @Until('5m', 0.1, false)          // every 5 min from the start of a run, up to 10% later
 * @Until('30s', { backoff: { initial: '1s', max: '5m' } })
 * @Until({ period: '1h', name: 'reports' })
 * ```
 */
export function Until(period: Duration, jitter?: number, sliding?: boolean): MethodDecorator;
/** `@Until(period, options)`: see the first signature. */
export function Until(period: Duration, options: UntilOptions): MethodDecorator;
/** `@Until({ period, ...options })`: see the first signature. */
export function Until(definition: LoopDefinition): MethodDecorator;
export function Until(first: unknown, second?: unknown, third?: unknown): MethodDecorator {
  return (target, key, descriptor) => {
    const isStatic = typeof target === 'function';
    const owner = isStatic ? (target as { name: string }).name : target.constructor.name;
    const where = `@Until() on ${owner}.${String(key)}`;
    if (isStatic) throw new TypeError(messages.notAMethod(where, 'a static method'));
    if (descriptor.get !== undefined || descriptor.set !== undefined) {
      throw new TypeError(messages.notAMethod(where, 'an accessor (get/set)'));
    }
    const method: unknown = descriptor.value;
    if (typeof method !== 'function')
      throw new TypeError(messages.notAMethod(where, 'not a function'));
    if (Reflect.hasOwnMetadata(UNTIL_METADATA, method))
      throw new TypeError(messages.decoratedTwice(where));
    Reflect.defineMetadata(UNTIL_METADATA, planFromArguments(where, first, second, third), method);
    return descriptor;
  };
}
