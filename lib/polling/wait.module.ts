import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule, ModulesContainer } from '@nestjs/core';
import { LeaderElector } from '../leader/leader-elector.js';
import { PollingRegistry, registryFor } from './polling.registry.js';
import { WaitExplorer } from './wait.explorer.js';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  WAIT_MODULE_OPTIONS,
} from './wait.module-definition.js';
import { checkModuleOptions, type WaitModuleOptions } from './wait-module.options.js';

/**
 * Runs every `@Until()` method of the app as a loop and provides `PollingRegistry`. Global:
 * import it once, in the root module. Importing it twice never runs a loop twice (the options of
 * the first import win, with a warning).
 *
 * @example
 * ```ts
 * @Module({ imports: [WaitModule.forRoot()], providers: [GarbageCollector] })
 * export class AppModule {}
 * ```
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: PollingRegistry,
      useFactory: async (container: ModulesContainer, options: WaitModuleOptions | undefined) => {
        const registry = registryFor(container, options);
        await registry.enableTelemetry();
        return registry;
      },
      inject: [ModulesContainer, WAIT_MODULE_OPTIONS],
    },
    {
      // null without the leaderElection option: inject it as `LeaderElector | null`.
      provide: LeaderElector,
      useFactory: (registry: PollingRegistry) => registry.elector ?? null,
      inject: [PollingRegistry],
    },
    WaitExplorer,
  ],
  exports: [PollingRegistry, LeaderElector],
})
export class WaitModule extends ConfigurableModuleClass {
  /** The module with `options` (see `WaitModuleOptions` for every default); checks them here. */
  static forRoot(options: WaitModuleOptions = {}): DynamicModule {
    checkModuleOptions(options, 'WaitModule.forRoot()');
    return { ...super.forRoot(options), global: true };
  }

  /**
   * The module with options from a provider, e.g. `ConfigService`:
   * `forRootAsync({ imports, inject, useFactory })`, or `useClass`/`useExisting` with a class
   * that has `createWaitModuleOptions()`. The options are checked when the app starts.
   */
  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return { ...super.forRootAsync(options), global: true };
  }
}
