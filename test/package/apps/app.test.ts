// A Jest test in a CommonJS project (copied into an app that installed the packed tarball, with
// jest.config.js as the README gives it): ts-jest compiles this file and, with allowJs in its own
// compiler options, nestjs-wait's ES modules to CommonJS, which Jest's require() cannot load as
// they are.
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PollingRegistry, Until, WaitModule, type LoopContext } from 'nestjs-wait';
import { FakeClock } from 'nestjs-wait/testing';

const clock = new FakeClock();

@Injectable()
class Worker {
  @Until('1m')
  tick({ iteration }: LoopContext): number {
    return iteration;
  }
}

@Module({ imports: [WaitModule.forRoot({ clock })], providers: [Worker] })
class AppModule {}

it('runs a loop of a Nest app on a FakeClock', async () => {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  await clock.advance('3m');
  expect(app.get(PollingRegistry).get('Worker.tick').iterations).toBe(4);
  await clock.runUntil(app.close());
  expect(clock.pendingTimers).toBe(0);
});
