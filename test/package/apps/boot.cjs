// A throwaway CommonJS app (copied into an app that installed the packed tarball): the same as
// boot.mjs, loading nestjs-wait with require() (Node's require(esm), no flag, Node >= 20.19).
require('reflect-metadata');
const { Injectable, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { TerminusModule } = require('@nestjs/terminus');
const { PollingRegistry, Until, WaitModule } = require('nestjs-wait');
const { WaitHealthIndicator } = require('nestjs-wait/terminus');

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

async function main() {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['warn', 'error'] });
  const worker = app.get(Worker);
  while (worker.runs < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  const health = app.get(WaitHealthIndicator).isHealthy();
  const registry = app.get(PollingRegistry);
  await app.close();
  const { state } = registry.get('Worker.tick');
  const requireModule = process.features.require_module;
  console.log(JSON.stringify({ module: 'cjs', runs: worker.runs, state, health, requireModule }));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
