import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule, ModulesContainer } from '@nestjs/core';
import { LeaderElector } from '../leader/leader-elector.js';
import { orchestratorOf, PollingRegistry } from './polling.registry.js';
import { WaitExplorer } from './wait.explorer.js';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  WAIT_MODULE_OPTIONS,
} from './wait.module-definition.js';
import { WaitOrchestrator } from './wait.orchestrator.js';
import { checkModuleOptions, type WaitModuleOptions } from './wait-module.options.js';

const registries = new WeakMap<object, PollingRegistry>();

/**
 * One registry, so one orchestrator, per application whatever the number of `WaitModule` imports
 * (Nest 11+ keys dynamic modules by reference, so two `forRoot()` calls make two modules). The
 * key is the app's `ModulesContainer`; the options of the first import win.
 */
function registryFor(container: object, options: WaitModuleOptions | undefined): PollingRegistry {
  let registry = registries.get(container);
  if (registry === undefined) {
    registry = new PollingRegistry(options);
    registries.set(container, registry);
  }
  return registry;
}

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
        await orchestratorOf(registry).enableTelemetry();
        return registry;
      },
      inject: [ModulesContainer, WAIT_MODULE_OPTIONS],
    },
    {
      // Not exported: the explorer's, and the shutdown hooks' (Nest calls them on it).
      provide: WaitOrchestrator,
      useFactory: (registry: PollingRegistry) => orchestratorOf(registry),
      inject: [PollingRegistry],
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
