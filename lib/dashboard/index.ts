/**
 * `nestjs-wait/dashboard`: a web dashboard (HTML page, JSON state, server-sent events, and
 * opt-in trigger/pause/resume) over the loops of `WaitModule`.
 */
export { WaitDashboardModule } from './wait-dashboard.module.js';
export type { WaitDashboardOptions } from './dashboard.options.js';
export { DASHBOARD_CSRF_HEADER, DASHBOARD_REFRESH_MS } from './dashboard.constants.js';
export type {
  DashboardLoop,
  DashboardMessage,
  DashboardRun,
  DashboardSnapshot,
  DashboardState,
  DashboardTimeline,
} from './dashboard.feed.js';
export type { DashboardRunSpan } from './run-history.js';
export type { DashboardActionResult } from './dashboard.controller.js';
