import { realClock, type Clock } from './clock.js';
import { ConditionLoop, type ConditionFn } from './condition-loop.js';
import { toMillis, type Duration } from './duration.js';
import { WaitTimeoutError } from './errors.js';
import { unwatchSignal, watchSignal, type SignalMember } from './signal-group.js';
import { Deadline } from './deadline.js';
import { checkClock, checkFunction, checkObject, checkSignal } from './validate.js';

/** Options of {@link poll}. */
export interface PollOptions {
  /** Time between the starts of two calls (non-sliding: a slow call does not push the next). */
  interval: Duration;
  /** Give up after this long, rejecting with {@link WaitTimeoutError}. Default none. */
  timeout?: Duration;
  /** Call the condition at once, even when `signal` has already aborted. Default false: wait one interval first. */
  immediate?: boolean;
  /** Stops the wait: the promise rejects with `signal.reason`. Default none. */
  signal?: AbortSignal;
  /** Default `realClock`. */
  clock?: Clock;
}

/**
 * Go's `wait.PollUntilContextTimeout`: calls `condition` every `interval` (non-sliding) until it
 * returns `true`, then resolves. Rejects with the condition's error, with `signal.reason` on abort,
 * or with {@link WaitTimeoutError} once `timeout` has passed. The condition's `ctx.signal` aborts
 * on either; a call in flight is waited for, and its `true` still wins.
 */
export function poll(condition: ConditionFn, options: PollOptions): Promise<void> {
  const where = 'poll()';
  checkFunction(condition, where, 'condition');
  checkObject(options, where, 'options');
  const interval = toMillis(options.interval, where, 'interval');
  const timeout =
    options.timeout === undefined ? undefined : toMillis(options.timeout, where, 'timeout');
  const clock = options.clock === undefined ? realClock : checkClock(options.clock, where);
  const external = options.signal === undefined ? undefined : checkSignal(options.signal, where);
  const immediate = Boolean(options.immediate);

  // One signal for the condition that aborts on the caller's signal or on the deadline.
  const controller = new AbortController();
  const relay: SignalMember = {
    groupPrev: null,
    groupNext: null,
    onAbort: () => controller.abort(external!.reason),
  };
  if (external?.aborted) controller.abort(external.reason);
  else if (external !== undefined) watchSignal(external, relay);

  const deadline = new Deadline(clock, () => controller.abort(new WaitTimeoutError()));
  if (timeout !== undefined) deadline.after(timeout);

  const loop = new ConditionLoop(condition, controller.signal, false, clock, interval, immediate);
  return loop.start(immediate ? 0 : interval).finally(() => {
    deadline.cancel();
    if (external !== undefined) unwatchSignal(external, relay);
  });
}
