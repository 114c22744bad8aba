import type { ControlChange, Controls, LoopControl } from '../cluster/cluster-store.js';
import { messages } from '../leader/leader-messages.js';

/*
 * How RedisLeaseStore's loop controls cross the wire (see redis-control-scripts.ts): a change as
 * the script's arguments, the stored records back as a `Controls`. Internal.
 */

/**
 * CONTROL_LOOP's arguments for `change` on `loop`, before the channel, name and deadline. The
 * trigger goes as a flag and its id, so that any string, the empty one too, is an id. The
 * overrides go as one field and value text each, so that the script merges them without
 * re-encoding a value; throws a TypeError when they are not the JSON text of an object.
 */
export function controlArgs(loop: string, change: ControlChange): string[] {
  const { state, by, overrides, trigger } = change;
  if (state !== undefined && state !== 'paused' && state !== 'started') {
    throw new TypeError(messages.controlState(state));
  }
  const args = [loop, state ?? '', by, trigger === undefined ? '0' : '1', trigger ?? ''];
  if (overrides === undefined) {
    args.push('-');
    return args;
  }
  const fields: unknown = JSON.parse(overrides);
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
    throw new TypeError(messages.controlOverrides(overrides));
  }
  const entries = Object.entries(fields);
  args.push(String(entries.length));
  for (const [field, value] of entries) args.push(field, JSON.stringify(value));
  return args;
}

/** CONTROLS' answer (after status and time) as a `Controls`, durations before `now`. */
export function toControls(now: number, reply: readonly unknown[]): Controls {
  const loops: LoopControl[] = [];
  for (let i = 1; i + 1 < reply.length; i += 2) {
    const control = toControl(now, String(reply[i]), String(reply[i + 1]));
    if (control !== undefined) loops.push(control);
  }
  return { version: Number(reply[0]), loops };
}

/** One stored record; `undefined` for one that this store did not write. */
function toControl(now: number, loop: string, text: string): LoopControl | undefined {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (record === null || typeof record !== 'object') return undefined;
  const { state, by, at, overrides, trigger, triggerAt } = record as Record<string, unknown>;
  const known = state === 'paused' || state === 'started';
  // A trigger stands apart from the state: one may be asked of a loop that was never paused.
  const triggered = typeof trigger === 'string';
  return {
    loop,
    state: known ? state : undefined,
    by: known && typeof by === 'string' ? by : undefined,
    ago: known && typeof at === 'string' ? now - Number(at) : undefined,
    overrides: overridesText(overrides),
    trigger: triggered ? trigger : undefined,
    triggerAgo: triggered && typeof triggerAt === 'string' ? now - Number(triggerAt) : undefined,
  };
}

/**
 * The merged overrides as the JSON text of an object, from field -> value text. cjson answers
 * an empty object as `{}` (never `[]`), so any object here is the record's overrides.
 */
function overridesText(overrides: unknown): string | undefined {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    return undefined;
  }
  const fields = Object.entries(overrides).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  return `{${fields.map(([field, value]) => `${JSON.stringify(field)}:${value}`).join(',')}}`;
}
