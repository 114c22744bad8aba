import { Logger, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { WaitModule, type WaitModuleOptions } from 'nestjs-wait';
import { WaitHealthIndicator } from 'nestjs-wait/terminus';
import { ContainerRuntime } from './container-runtime.js';
import { CONTAINER_GC, GarbageCollector, IMAGE_GC } from './garbage-collector.js';
import { gcSettings } from './gc.config.js';
import { HealthController } from './health.controller.js';
import { leaderElection } from './leader.config.js';
import { LoopsController } from './loops.controller.js';
import { RuntimeController } from './runtime.controller.js';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    // The loops' periods, whether image GC runs at all and where the lease lives come from the
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
          // One replica collects garbage at a time (see leader.config.ts).
          leaderElection: leaderElection(config),
          loops: {
            [CONTAINER_GC]: { period: gc.containerGcPeriod },
            // A disabled loop is registered but not started: POST /loops/image-gc/start would.
            [IMAGE_GC]: { period: gc.imageGcPeriod, disabled: imageGcDisabled },
          },
        };
      },
    }),
    TerminusModule,
  ],
  controllers: [LoopsController, RuntimeController, HealthController],
  providers: [ContainerRuntime, GarbageCollector, WaitHealthIndicator],
})
export class AppModule {}
