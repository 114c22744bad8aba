/**
 * `nestjs-wait/terminus`: a `@nestjs/terminus` health indicator over the loops of `WaitModule`.
 * Needs `@nestjs/terminus` (an optional peer of `nestjs-wait`) installed.
 */
export { WaitHealthIndicator } from './wait.health-indicator.js';
export type { ClusterLoopHealth, WaitHealthOptions, LoopHealth } from './wait.health-indicator.js';
