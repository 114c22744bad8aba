import { Logger } from '@nestjs/common';
import {
  toMillis,
  type Duration,
  checkFinite,
  checkKeys,
  checkNonNegative,
  checkObject,
} from '../wait/internal.js';
import type { ManagedBackoff, LoopSettings } from './loop/loop-settings.js';
import { checkPlacement, type Placement } from '../cluster/cluster-options.js';
import { messages as clusterMessages } from '../cluster/cluster-messages.js';
import { messages } from './polling.messages.js';
import type {
  LoopChanges,
  LoopDefinition,
  LoopOverride,
  UntilBackoff,
  UntilOptions,
} from './until.options.js';

/**
 * The one checked form of a loop's configuration: the managed loop's settings (durations in
 * milliseconds, defaults applied) and what the Nest layer decides with them. Internal.
 */
export type LoopPlan = LoopSettings & {
  readonly name: string | undefined;
  readonly autoStart: boolean;
  /** `undefined`: the module decides (the cluster's default placement, or `'every'`). */
  readonly placement: Placement | undefined;
};

const UNTIL_KEYS = [
  'name',
  'jitter',
  'sliding',
  'initialDelay',
  'backoff',
  'timeout',
  'autoStart',
  'placement',
  'leaderOnly',
] as const satisfies readonly (keyof UntilOptions)[];
const DEFINITION_KEYS = ['period', ...UNTIL_KEYS] as const;
const OVERRIDE_KEYS = [...DEFINITION_KEYS, 'disabled'] as const;
const CHANGE_KEYS = ['period', 'jitter', 'sliding', 'initialDelay', 'backoff', 'timeout'] as const;
const BACKOFF_KEYS = ['initial', 'max', 'factor', 'jitter', 'resetAfter'] as const;

/** Checks `@Until()`'s three forms and returns the plan; throws naming `where` and the value. */
export function planFromArguments(
  where: string,
  first: unknown,
  second: unknown,
  third: unknown,
): LoopPlan {
  if (typeof first === 'object' && first !== null) {
    if (second !== undefined || third !== undefined) throw new TypeError(messages.noOthers(where));
    return planDefinition(first as LoopDefinition, where);
  }
  if (typeof second === 'object' && second !== null) {
    if (third !== undefined) throw new TypeError(messages.noThird(where));
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
    placement: planPlacement(definition, where),
  };
}

/** `placement`, or `leaderOnly` in its older form; both only when they agree. */
function planPlacement(definition: LoopDefinition, where: string): Placement | undefined {
  const placement =
    definition.placement === undefined ? undefined : checkPlacement(definition.placement, where);
  if (definition.leaderOnly === undefined) return placement;
  const leaderOnly = checkBoolean(definition.leaderOnly, false, where, 'leaderOnly');
  const implied = leaderOnly ? 'leader' : 'every';
  if (placement !== undefined && placement !== implied) {
    throw new TypeError(clusterMessages.conflict(where, placement, leaderOnly));
  }
  return implied;
}

/**
 * Applies a `WaitModule` override to a decorated loop's plan and checks the result. The
 * override's durations stay as given, so an error names what the configuration said.
 */
export function planOverride(
  plan: LoopPlan,
  override: LoopOverride,
  where: string,
): LoopPlan & { disabled: boolean } {
  checkObject(override, where, 'the override');
  checkKeys(override, OVERRIDE_KEYS, where);
  const { disabled, ...changes } = override;
  const merged = planDefinition({ ...definitionOf(plan), ...changes }, where, OVERRIDE_KEYS);
  return { ...merged, disabled: checkBoolean(disabled, false, where, 'disabled') };
}

/**
 * The settings of a loop after the changes `PollingRegistry.update()` accepts, naming the loop in
 * errors; every change is checked before any applies, so bad changes change nothing.
 */
export function planChanges(
  current: LoopSettings,
  changes: LoopChanges,
  where: string,
  name: string,
): LoopSettings {
  checkObject(changes, where, 'changes');
  checkKeys(changes, CHANGE_KEYS, where);
  const { period, jitter, sliding, initialDelay, backoff, timeout } = changes;
  return {
    period: period === undefined ? current.period : toMillis(period, where, 'period'),
    jitter: jitter === undefined ? current.jitter : checkJitter(jitter, where, name),
    sliding:
      sliding === undefined ? current.sliding : checkBoolean(sliding, true, where, 'sliding'),
    initialDelay:
      initialDelay === undefined
        ? current.initialDelay
        : toMillis(initialDelay, where, 'initialDelay'),
    backoff:
      backoff === undefined
        ? current.backoff
        : backoff === null
          ? undefined
          : planBackoff(backoff, where, name),
    timeout:
      timeout === undefined
        ? current.timeout
        : timeout === null
          ? undefined
          : checkTimeout(timeout, where),
  };
}

/** Back to a definition, to merge an override into: durations as milliseconds. */
function definitionOf(plan: LoopPlan): LoopDefinition {
  const { name, period, jitter, sliding, initialDelay, backoff, timeout, autoStart, placement } =
    plan;
  return { name, period, jitter, sliding, initialDelay, backoff, timeout, autoStart, placement };
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
