import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { WaitModuleOptions } from './wait-module.options.js';

/**
 * The Nest way of building `forRoot()`/`forRootAsync()` (`imports`, `inject`, `useFactory`,
 * `useClass`, `useExisting`); `WAIT_MODULE_OPTIONS` is the token of the options. Internal.
 */
export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: WAIT_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<WaitModuleOptions>({ moduleName: 'Wait' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createWaitModuleOptions')
  .build();
