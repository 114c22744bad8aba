import { type DynamicModule, Module } from '@nestjs/common';
import { DASHBOARD_SETTINGS } from './dashboard.constants.js';
import { dashboardController } from './dashboard.controller.js';
import { DashboardFeed } from './dashboard.feed.js';
import { checkDashboardOptions, type WaitDashboardOptions } from './dashboard.options.js';

/**
 * A small web dashboard over `WaitModule`'s loops: the page at `path` (default `'/wait'`), its
 * state as JSON at `path/api/state`, live updates as server-sent events at `path/api/events`,
 * and, unless `readOnly` (the default), trigger, pause and resume at
 * `POST path/api/loops/:name/trigger|pause|resume`. Nothing is served unless it is imported.
 * Needs `WaitModule` imported too (it reads the global `PollingRegistry`).
 *
 * @example
 * ```ts
 * @Module({ imports: [WaitModule.forRoot(), WaitDashboardModule.forRoot({ guard: AdminGuard })] })
 * export class AppModule {}
 * ```
 */
@Module({})
export class WaitDashboardModule {
  /**
   * The dashboard with these options (see {@link WaitDashboardOptions} for defaults); throws a
   * `TypeError` naming a bad option's value.
   */
  static forRoot(options?: WaitDashboardOptions): DynamicModule {
    const settings = checkDashboardOptions(options);
    return {
      module: WaitDashboardModule,
      controllers: [dashboardController(settings)],
      providers: [{ provide: DASHBOARD_SETTINGS, useValue: settings }, DashboardFeed],
    };
  }
}
