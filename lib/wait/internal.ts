/**
 * The engine as the package's upper layers see it: its public surface and the internals they are
 * built on. Every import from outside `lib/wait` comes through here (a lint rule checks it), so
 * what the engine shares is listed in one place. Not part of the published API.
 */
export * from './index.js';
export { epochOf } from './clock.js';
export { Deadline } from './deadline.js';
export { toMillis } from './duration.js';
export { applyJitter } from './jitter.js';
export { LoopCore } from './loop-core.js';
export { RESOLVED, rejectWith, type LoopEnd, type LoopStrategy } from './loop-strategy.js';
export { settleWithin } from './settle-within.js';
export { isThenable } from './thenable.js';
export {
  checkClock,
  checkFinite,
  checkFunction,
  checkKeys,
  checkNonNegative,
  checkObject,
  checkSignal,
} from './validate.js';
export { show } from './wait.messages.js';
