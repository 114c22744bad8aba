export { Until } from './until.decorator.js';
export type {
  UntilOptions,
  UntilBackoff,
  LoopDefinition,
  LoopOverride,
  LoopChanges,
} from './until.options.js';
export { WaitModule } from './wait.module.js';
export type { WaitModuleOptions, ShutdownHook } from './wait-module.options.js';
export { PollingRegistry } from './polling.registry.js';
export type {
  LoopStatus,
  LoopEvent,
  MemberStatus,
  StatusOptions,
  PollingContext,
  PollingFn,
} from './polling.interfaces.js';
export type { UntilDecorator } from './until.decorator.js';
