import { show } from '../wait/wait.messages.js';

/** Every message of the health indicator. Internal: not exported from the package. */
export const terminusMessages = {
  periods: (value: unknown) =>
    `WaitHealthIndicator.isHealthy(): periods must be a finite number > 0; got ${show(value)}`,
  key: (value: unknown) =>
    `WaitHealthIndicator.isHealthy(): key must be a non-empty string; got ${show(value)}`,
  noSuccess: (ms: number, allowed: number) =>
    `no successful run for ${ms} ms (allowed: ${allowed} ms)`,
  longRun: (ms: number, allowed: number) =>
    `a run has been in flight for ${ms} ms (allowed: ${allowed} ms)`,
  down: (names: readonly string[]) =>
    `${names.length === 1 ? 'loop' : 'loops'} ${names.map((n) => show(n)).join(', ')} not healthy`,
} as const;
