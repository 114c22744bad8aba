import type { PollingContext } from '../polling.interfaces.js';
import type { RunDeadline } from './run-deadline.js';

/** Where a run's signal comes from: the session's, made on first read, unless the run has its own. */
export interface SignalSource {
  /** The session's runs' signal, made on first read (aborted already if the session stopped). */
  readonly runSignal: AbortSignal;
}

/**
 * A managed run's context before its session's AbortController exists. `signal` is a getter that
 * makes the controller on first read, so that a session whose runs never read it owns no
 * controller and its stop aborts none. Runs see it through {@link OWN_SIGNAL}.
 */
class LazyContext {
  readonly #source: SignalSource;
  readonly #deadline: RunDeadline | undefined;

  constructor(
    source: SignalSource,
    readonly iteration: number,
    readonly name: string,
    readonly fencingToken: number | undefined,
    deadline: RunDeadline | undefined,
  ) {
    this.#source = source;
    this.#deadline = deadline;
  }

  get signal(): AbortSignal {
    return this.#deadline?.signal ?? this.#source.runSignal;
  }
}

/** How {@link OWN_SIGNAL} reports `signal`: an own enumerable getter, so reporting makes nothing. */
const SIGNAL_DESCRIPTOR: PropertyDescriptor = {
  get(this: PollingContext): AbortSignal {
    return this.signal;
  },
  set: undefined,
  enumerable: true,
  configurable: true,
};

/**
 * Shows a {@link LazyContext} with `signal` as an own enumerable property, so that `{ ...ctx }`,
 * `Object.assign()` and `Object.keys()` see it (a spread copies own enumerable properties only).
 * A Proxy, because it is the cheapest way in V8 to give each object an own getter (see
 * bench/PERF-NOTES.md).
 */
const OWN_SIGNAL: ProxyHandler<LazyContext> = {
  // Read on the target itself: its getter reads a private field, which the proxy lacks.
  get: (target, key): unknown => Reflect.get(target, key),
  ownKeys: (target) =>
    Object.hasOwn(target, 'signal')
      ? Reflect.ownKeys(target)
      : ['signal', ...Reflect.ownKeys(target)],
  getOwnPropertyDescriptor: (target, key) =>
    key === 'signal' && !Object.hasOwn(target, 'signal')
      ? SIGNAL_DESCRIPTOR
      : Reflect.getOwnPropertyDescriptor(target, key),
  // A proxy may not report a property its non-extensible target lacks: Object.freeze() and
  // Object.seal() turn `signal` into a plain property of the target first.
  preventExtensions: (target) => {
    Object.defineProperty(target, 'signal', {
      value: target.signal,
      enumerable: true,
      writable: false,
      configurable: true,
    });
    return Reflect.preventExtensions(target);
  },
};

/**
 * A run's context: a plain object once the session's signal exists (`signal` given), else a lazy
 * one whose `signal` makes it on first read (a run with a timeout has a signal of its own, made
 * the same way). Both have the same own enumerable fields. Internal.
 */
export function runContext(
  source: SignalSource,
  signal: AbortSignal | undefined,
  iteration: number,
  name: string,
  fencingToken: number | undefined,
  deadline: RunDeadline | undefined,
): PollingContext {
  if (signal !== undefined && deadline === undefined)
    return { signal, iteration, name, fencingToken };
  return new Proxy(new LazyContext(source, iteration, name, fencingToken, deadline), OWN_SIGNAL);
}
