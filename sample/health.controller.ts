import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { WaitHealthIndicator } from 'nestjs-wait/terminus';

/**
 * `GET /health` for Kubernetes probes: every loop's state; 503 once a running loop has gone 3 of
 * its periods without a successful run (container GC during a runtime outage).
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly loops: WaitHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.loops.isHealthy('loops')]);
  }
}
