export { realClock, type Clock } from './clock.js';
export {
  parseDuration,
  type Duration,
  type DurationString,
  type DurationUnit,
  type CheckedDuration,
  type CheckedOptions,
} from './duration.js';
export { RunTimeoutError, WaitTimeoutError, isInterrupted } from './errors.js';
export { jitter } from './jitter.js';
export type { LoopContext, LoopFn, LoopOptions } from './loop.js';
export { NEVER_STOP, until, nonSlidingUntil, jitterUntil, backoffUntil, forever } from './until.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export {
  exponentialBackoffManager,
  jitteredBackoffManager,
  type BackoffManager,
  type ExponentialBackoffManagerOptions,
} from './backoff-manager.js';
export type { ConditionFn } from './condition-loop.js';
export { exponentialBackoff, type ExponentialBackoffOptions } from './exponential-backoff.js';
export { poll, type PollOptions } from './poll.js';
