// Scenario 6: bootstrap. A Nest app of `providers` classes with `methods` decorated methods each
// (1 h period): the time from `NestFactory.createApplicationContext()` to the promise resolving,
// when every loop is started, with nestjs-wait's `@Until` (`wait`: first run at once, as in Go;
// `wait-delayed`: first run after a period, as `@Interval`'s), @nestjs/schedule's `@Interval`, or
// no decorator and no scheduling module (`bare`, the floor).
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Interval, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { createApp, nest, report } from '../lib/impls.mjs';

const HOUR = 3_600_000;

export async function run(name, { providers = 1000, methods = 10 }) {
  const classes = [];
  for (let p = 0; p < providers; p++) {
    const Job = { [`Job${p}`]: class {} }[`Job${p}`];
    for (let m = 0; m < methods; m++) {
      const key = `run${m}`;
      Job.prototype[key] = function () {};
      const decorator =
        name === 'wait'
          ? nest.Until(HOUR, 0, false) // the README's migration of @Interval: first run at once
          : name === 'wait-delayed'
            ? nest.Until(HOUR, { sliding: false, initialDelay: HOUR }) // first run after a period
            : name === 'schedule'
              ? Interval(HOUR)
              : null;
      if (decorator !== null) {
        const descriptor = Object.getOwnPropertyDescriptor(Job.prototype, key);
        Reflect.decorate([decorator], Job.prototype, key, descriptor);
      }
    }
    Reflect.decorate([Injectable()], Job);
    classes.push(Job);
  }
  const imports = name.startsWith('wait')
    ? [nest.WaitModule.forRoot()]
    : name === 'schedule'
      ? [ScheduleModule.forRoot()]
      : [];
  const t0 = performance.now();
  const app = await createApp(imports, classes);
  const ms = performance.now() - t0;
  const loops = name.startsWith('wait')
    ? app
        .get(nest.PollingRegistry)
        .list()
        .filter((s) => s.state === 'running').length
    : name === 'schedule'
      ? app.get(SchedulerRegistry).getIntervals().length
      : 0;
  if (name !== 'bare' && loops !== providers * methods) throw new Error(`${loops} loops started`);
  report({ ms, loops });
  await app.close();
}
