import type { Clock } from '../wait/internal.js';

/** Where the elector writes; Nest's `Logger` fits. Default `console`. */
export interface ElectorLogger {
  log(message: string): void;
  warn(message: string): void;
  debug?(message: string): void;
}

/** Extra settings of {@link LeaderElector}, each with a default. */
export interface LeaderElectorSettings {
  /** Time source of the elector's loops and deadline. Default `realClock`. */
  clock?: Clock;
  /** Default `console`. */
  logger?: ElectorLogger;
  /** Random numbers in [0, 1) for the acquire jitter. Default `Math.random`. */
  random?: () => number;
}
