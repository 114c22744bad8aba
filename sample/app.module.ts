import { Logger, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { WaitModule, type WaitModuleOptions } from 'nestjs-wait';
import { WaitDashboardModule } from 'nestjs-wait/dashboard';
import { WaitHealthIndicator } from 'nestjs-wait/terminus';
import { ContainerRuntime } from './container-runtime.js';
import { CONTAINER_GC, GarbageCollector, IMAGE_GC } from './garbage-collector.js';
import { gcSettings } from './gc.config.js';
import { HealthController } from './health.controller.js';
import { cluster } from './cluster.config.js';
import { LocalOnlyGuard } from './local-only.guard.js';
import { LoopsController } from './loops.controller.js';
import { RuntimeController } from './runtime.controller.js';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    // The loops' periods, whether image GC runs at all and where the leases live come from the
    // configuration.
    WaitModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService): WaitModuleOptions => {
        const gc = gcSettings(config);
        const imageGcDisabled = gc.imageGcHighThresholdPercent === 100;
        if (imageGcDisabled) {
          new Logger(GarbageCollector.name).log(
            'ImageGCHighThresholdPercent is set 100, Disable image GC',
          );
        }
        return {
          shutdownTimeout: gc.shutdownTimeout,
          // Each collector runs on one replica at a time, spread over the replicas when they
          // share a store (see cluster.config.ts).
          cluster: cluster(config),
          loops: {
            [CONTAINER_GC]: { period: gc.containerGcPeriod },
            // A disabled loop is registered but not started: POST /loops/image-gc/start would.
            [IMAGE_GC]: { period: gc.imageGcPeriod, disabled: imageGcDisabled },
          },
        };
      },
    }),
    TerminusModule,
    // The dashboard at /wait, with its trigger/pause/resume buttons, for requests from this
    // machine only (every other one gets 403, the page included).
    WaitDashboardModule.forRoot({ path: '/wait', readOnly: false, guard: LocalOnlyGuard }),
  ],
  controllers: [LoopsController, RuntimeController, HealthController],
  providers: [ContainerRuntime, GarbageCollector, WaitHealthIndicator],
})
export class AppModule {}
