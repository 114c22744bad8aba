import { Logger } from '@nestjs/common';
import { toMillis, type Duration } from '../wait/duration.js';
import type { ManagedBackoff, LoopSettings as ManagedLoopSettings } from './loop/loop-settings.js';
import { checkFinite, checkKeys, checkNonNegative, checkObject } from '../wait/validate.js';
import type { LoopChanges } from './polling.interfaces.js';
import { messages } from './polling.messages.js';

/**
 * After a failed run, wait this backoff instead of the period; the first success resets it.
 * The waits follow Go's `NewExponentialBackoffManager`: `initial`, then times `factor`, up to `max`.
 */
export interface UntilBackoff {
  /** The first wait after a failure. */
  initial: Duration;
  /** The longest wait. */
  max: Duration;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
  /** Jitter factor of each wait (`<= 0`: none). Default 0. */
  jitter?: number;
  /** Also start over from `initial` after this long without a failure. Default: only a success resets. */
  resetAfter?: Duration;
}

/** How a loop runs; every field has a default. */
export interface UntilOptions {
  /** The loop's name in the registry, logs and events. Default `'ClassName.methodName'`. */
  name?: string;
  /** Jitter factor: each wait is drawn from `[period, period * (1 + jitter))`; `<= 0` means none. Default 0. */
  jitter?: number;
  /** `true`: the period starts when a run ends; `false`: when it starts (runs never overlap either way). Default true. */
  sliding?: boolean;
  /** Wait before the first run of each start. Default 0: the first run is at start, as in Go. */
  initialDelay?: Duration;
  /** Wait a backoff after a failed run instead of the period. Default none. */
  backoff?: UntilBackoff;
  /**
   * The longest a run may take: past it, `ctx.signal` aborts with a `RunTimeoutError` and the run
   * counts as failed with it (the backoff applies) however it ends. The next run still waits for
   * it to settle, so runs never overlap. Must be more than 0. Default none.
   */
  timeout?: Duration;
  /** Start with the application (or at `PollingRegistry.add()`). Default true. */
  autoStart?: boolean;
  /**
   * Run only on the replica that leads (see `WaitModule`'s `leaderElection`); on the others the
   * loop stands by. Default true when `leaderElection` is set; `true` without it fails bootstrap.
   */
  leaderOnly?: boolean;
}

/** A loop's whole definition: its period and {@link UntilOptions}. */
export interface LoopDefinition extends UntilOptions {
  /** Time between runs: milliseconds or a Go duration string (`'30s'`, `'1m30s'`). */
  period: Duration;
}

/** What `WaitModule` options may change of a loop, by name; `disabled: true` keeps it from starting. */
export interface LoopOverride extends Partial<LoopDefinition> {
  /** Never start the loop with the application (the registry can still start it). Default false. */
  disabled?: boolean;
}

/** A checked definition, durations in milliseconds. Internal. */
export interface LoopPlan extends ManagedLoopSettings {
  readonly name: string | undefined;
  readonly autoStart: boolean;
  /** `undefined`: the module decides (true with leader election). */
  readonly leaderOnly: boolean | undefined;
}

const UNTIL_KEYS = [
  'name',
  'jitter',
  'sliding',
  'initialDelay',
  'backoff',
  'timeout',
  'autoStart',
  'leaderOnly',
] as const;
const DEFINITION_KEYS = ['period', ...UNTIL_KEYS] as const;
const OVERRIDE_KEYS = [...DEFINITION_KEYS, 'disabled'] as const;
const BACKOFF_KEYS = ['initial', 'max', 'factor', 'jitter', 'resetAfter'] as const;

/** Checks `@Until()`'s three forms and returns the plan; throws naming `where` and the value. */
export function planFromArguments(
  where: string,
  first: unknown,
  second: unknown,
  third: unknown,
): LoopPlan {
  if (typeof first === 'object' && first !== null) {
    if (second !== undefined || third !== undefined) {
      throw new TypeError(messages.noOthers(where));
    }
    return planDefinition(first as LoopDefinition, where);
  }
  if (typeof second === 'object' && second !== null) {
    if (third !== undefined) {
      throw new TypeError(messages.noThird(where));
    }
    checkKeys(second, UNTIL_KEYS, where);
    return planDefinition({ ...(second as UntilOptions), period: first as Duration }, where);
  }
  return planDefinition(
    { period: first as Duration, jitter: second as number, sliding: third as boolean },
    where,
  );
}

/** Checks a whole definition (period required); throws naming `where`. */
export function planDefinition(
  definition: LoopDefinition,
  where: string,
  keys: readonly string[] = DEFINITION_KEYS,
): LoopPlan {
  checkObject(definition, where, 'options');
  checkKeys(definition, keys, where);
  const name = definition.name;
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) {
    throw new TypeError(messages.name(where, name));
  }
  return {
    name,
    period: toMillis(definition.period, where, 'period'),
    jitter: definition.jitter === undefined ? 0 : checkJitter(definition.jitter, where, name),
    sliding: checkBoolean(definition.sliding, true, where, 'sliding'),
    initialDelay:
      definition.initialDelay === undefined
        ? 0
        : toMillis(definition.initialDelay, where, 'initialDelay'),
    backoff:
      definition.backoff === undefined ? undefined : planBackoff(definition.backoff, where, name),
    timeout: definition.timeout === undefined ? undefined : checkTimeout(definition.timeout, where),
    autoStart: checkBoolean(definition.autoStart, true, where, 'autoStart'),
    leaderOnly:
      definition.leaderOnly === undefined
        ? undefined
        : checkBoolean(definition.leaderOnly, false, where, 'leaderOnly'),
  };
}

/**
 * Applies a `WaitModule` override to a decorated loop's definition and checks the result. The
 * override's durations stay as given, so an error names what the configuration said.
 */
export function planOverride(
  base: LoopDefinition,
  override: LoopOverride,
  where: string,
): LoopPlan & { disabled: boolean } {
  checkObject(override, where, 'the override');
  checkKeys(override, OVERRIDE_KEYS, where);
  const { disabled, ...changes } = override;
  const plan = planDefinition({ ...base, ...changes }, where, OVERRIDE_KEYS);
  return { ...plan, disabled: checkBoolean(disabled, false, where, 'disabled') };
}

/** What {@link checkChanges} returns: `undefined` leaves a setting as it is. Internal. */
export interface CheckedChanges {
  readonly period?: number;
  readonly jitter?: number;
  readonly sliding?: boolean;
  readonly initialDelay?: number;
  /** `null`: no backoff from now on. */
  readonly backoff?: ManagedBackoff | null;
  /** `null`: no timeout from now on. */
  readonly timeout?: number | null;
}

const CHANGE_KEYS = ['period', 'jitter', 'sliding', 'initialDelay', 'backoff', 'timeout'] as const;

/** Checks the changes `PollingRegistry.update()` accepts, naming the loop in errors. */
export function checkChanges(changes: LoopChanges, where: string, name: string): CheckedChanges {
  checkObject(changes, where, 'changes');
  checkKeys(changes, CHANGE_KEYS, where);
  const { period, jitter, sliding, initialDelay, backoff, timeout } = changes;
  return {
    period: period === undefined ? undefined : toMillis(period, where, 'period'),
    jitter: jitter === undefined ? undefined : checkJitter(jitter, where, name),
    sliding: sliding === undefined ? undefined : checkBoolean(sliding, true, where, 'sliding'),
    initialDelay:
      initialDelay === undefined ? undefined : toMillis(initialDelay, where, 'initialDelay'),
    backoff:
      backoff === undefined || backoff === null ? backoff : planBackoff(backoff, where, name),
    timeout: timeout === undefined || timeout === null ? timeout : checkTimeout(timeout, where),
  };
}

/** Back to a definition, to merge an override into: durations as milliseconds. */
export function definitionOf(plan: LoopPlan): LoopDefinition {
  const { name, period, jitter, sliding, initialDelay, backoff, timeout, autoStart, leaderOnly } =
    plan;
  return { name, period, jitter, sliding, initialDelay, backoff, timeout, autoStart, leaderOnly };
}

/**
 * A jitter factor is a fraction of the period (0.1 is up to 10% more); above 1 is allowed (Go
 * allows it) but almost always meant as a percentage, so it is warned about.
 */
function checkJitter(value: unknown, where: string, name: string | undefined): number {
  const jitter = checkFinite(value, where, 'jitter');
  if (jitter > 1) new Logger('WaitModule').warn(messages.bigJitter(where, name, jitter));
  return jitter;
}

/** A timeout of 0 would fail every run that awaits anything: leaving it out means none. */
function checkTimeout(value: unknown, where: string): number {
  const timeout = toMillis(value, where, 'timeout');
  if (timeout === 0) throw new RangeError(messages.timeoutZero(where));
  return timeout;
}

function planBackoff(
  backoff: UntilBackoff,
  where: string,
  name: string | undefined,
): ManagedBackoff {
  checkObject(backoff, where, 'backoff');
  checkKeys(backoff, BACKOFF_KEYS, `${where} backoff`);
  const initial = toMillis(backoff.initial, where, 'backoff.initial');
  const max = toMillis(backoff.max, where, 'backoff.max');
  if (max < initial) throw new RangeError(messages.backoffMax(where, name, initial, max));
  return {
    initial,
    max,
    factor:
      backoff.factor === undefined ? 2 : checkNonNegative(backoff.factor, where, 'backoff.factor'),
    jitter: backoff.jitter === undefined ? 0 : checkFinite(backoff.jitter, where, 'backoff.jitter'),
    // Go's manager needs a reset interval; "never" is the longest one that fits a timer.
    resetAfter:
      backoff.resetAfter === undefined
        ? Number.MAX_SAFE_INTEGER
        : toMillis(backoff.resetAfter, where, 'backoff.resetAfter'),
  };
}

function checkBoolean(value: unknown, fallback: boolean, where: string, what: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(messages.boolean(where, what, value));
  return value;
}
