// A throwaway ESM app (copied into an app that installed the packed tarball): one @Until loop,
// booted, run twice, health-checked through nestjs-wait/terminus, closed. Plain JavaScript, so
// decorators are applied by hand, as TypeScript's emit would.
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { PollingRegistry, Until, WaitModule } from 'nestjs-wait';
import { WaitHealthIndicator } from 'nestjs-wait/terminus';

class Worker {
  runs = 0;
  tick() {
    this.runs++;
  }
}
const tick = Object.getOwnPropertyDescriptor(Worker.prototype, 'tick');
Object.defineProperty(
  Worker.prototype,
  'tick',
  Until('20ms')(Worker.prototype, 'tick', tick) ?? tick,
);
Injectable()(Worker);

class AppModule {}
Module({
  imports: [WaitModule.forRoot(), TerminusModule],
  providers: [Worker, WaitHealthIndicator],
})(AppModule);

const app = await NestFactory.createApplicationContext(AppModule, { logger: ['warn', 'error'] });
const worker = app.get(Worker);
while (worker.runs < 2) await new Promise((resolve) => setTimeout(resolve, 5));
const health = app.get(WaitHealthIndicator).isHealthy();
const registry = app.get(PollingRegistry);
await app.close();
const { state } = registry.get('Worker.tick');
console.log(JSON.stringify({ module: 'esm', runs: worker.runs, state, health }));
// No process.exit(): the process must end by itself, with no timer left behind.
