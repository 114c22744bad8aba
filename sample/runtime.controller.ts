import { Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { ContainerRuntime } from './container-runtime.js';

/** The fake container runtime: look at it, and take it down to watch the GC fail and recover. */
@Controller('runtime')
export class RuntimeController {
  constructor(private readonly runtime: ContainerRuntime) {}

  @Get()
  show() {
    return this.runtime.snapshot();
  }

  /** Every runtime call fails from now on (so does every GC run). */
  @Post('outage')
  @HttpCode(200)
  startOutage() {
    this.runtime.outage = true;
    return { outage: true };
  }

  /** The runtime is back; the next GC run logs the recovery. */
  @Delete('outage')
  endOutage() {
    this.runtime.outage = false;
    return { outage: false };
  }
}
