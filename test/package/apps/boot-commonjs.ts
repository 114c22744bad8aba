// A throwaway CommonJS app in TypeScript (copied into an app that installed the packed tarball),
// compiled by tsc with `"module": "commonjs"` as Nest's CommonJS projects are: decorators as tsc
// emits them, the entry points' types found through typesVersions, and nestjs-wait loaded by the
// plain require() tsc writes (Node's require(esm)). Otherwise the same as boot.cjs.
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { PollingRegistry, Until, WaitModule, type LoopContext } from 'nestjs-wait';
import { WaitHealthIndicator } from 'nestjs-wait/terminus';

@Injectable()
class Worker {
  runs = 0;

  @Until('20ms')
  tick({ iteration }: LoopContext): void {
    this.runs = iteration;
  }
}

@Module({
  imports: [WaitModule.forRoot(), TerminusModule],
  providers: [Worker, WaitHealthIndicator],
})
class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['warn', 'error'] });
  const worker = app.get(Worker);
  while (worker.runs < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  const health = app.get(WaitHealthIndicator).isHealthy();
  const registry = app.get(PollingRegistry);
  await app.close();
  const { state } = registry.get('Worker.tick');
  // `module` is CommonJS's own: compiled to ES modules, this line would throw.
  const kind = typeof module === 'object' && module.exports !== undefined ? 'cjs' : 'esm';
  console.log(JSON.stringify({ module: kind, runs: worker.runs, state, health }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
