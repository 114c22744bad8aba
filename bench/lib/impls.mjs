// The loop implementations compared, each started the way its users would write it. Every one
// exposes the same shape: `const impl = await prepare(name)` (creates a Nest app if it needs one,
// before any measurement starts), then `impl.start(n, { period, jitter, sliding, body, async })`
// starts n loops, and `await impl.stop()` stops them all.
import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import toad from 'toad-scheduler';

// The package entry loads NestJS (the WaitModule layer); BENCH_ENTRY=engine measures the engine
// alone (dist/wait), for the in-process scenarios that need no Nest app.
const engineOnly = process.env.BENCH_ENTRY === 'engine';
export const wait = await import(engineOnly ? '../../dist/wait/index.js' : '../../dist/index.js');
export const nest = engineOnly ? undefined : await import('../../dist/index.js');

/** Display names, in table order. */
export const LABELS = {
  chain: 'bare `setTimeout` chain',
  setInterval: '`setInterval`',
  naive: 'naive `async` loop (`await sleep`, `AbortController`)',
  toad: "toad-scheduler's `SimpleIntervalJob`",
  schedule: "@nestjs/schedule's `SchedulerRegistry` interval",
  wait: 'nestjs-wait `until()` (engine)',
  'wait-module': 'nestjs-wait `PollingRegistry` (`WaitModule`)',
};

const LOGGER = ['error', 'warn'];

/** A Nest application context importing `imports`, created and initialized. */
export async function createApp(imports, providers = [], options = {}) {
  class BenchModule {}
  Module({ imports, providers })(BenchModule);
  return NestFactory.createApplicationContext(BenchModule, { logger: LOGGER, ...options });
}

const waitOf = (period, jitter) =>
  jitter > 0 ? () => period * (1 + Math.random() * jitter) : () => period;

export async function prepare(name) {
  switch (name) {
    case 'chain':
      return chain();
    case 'setInterval':
      return interval();
    case 'naive':
      return naive();
    case 'toad':
      return toadJobs();
    case 'schedule': {
      const app = await createApp([ScheduleModule.forRoot()]);
      const registry = app.get(SchedulerRegistry);
      return {
        start(n, { period, body, async }) {
          const cb = async ? () => void body() : body;
          for (let i = 0; i < n; i++) registry.addInterval(`loop${i}`, setInterval(cb, period));
        },
        stop: () => app.close(),
      };
    }
    case 'wait': {
      const ac = new AbortController();
      return {
        start(n, { period, jitter = 0, sliding = true, body }) {
          for (let i = 0; i < n; i++)
            void wait.jitterUntil(body, period, jitter, sliding, ac.signal);
        },
        stop: () => ac.abort(),
      };
    }
    case 'wait-module': {
      const app = await createApp([nest.WaitModule.forRoot()]);
      const registry = app.get(nest.PollingRegistry);
      return {
        start(n, { period, jitter = 0, sliding = true, body }) {
          for (let i = 0; i < n; i++) registry.add(`loop${i}`, body, { period, jitter, sliding });
        },
        stop: () => app.close(),
      };
    }
    default:
      throw new Error(`unknown implementation ${name}`);
  }
}

function chain() {
  let timers = [];
  let stopped = false;
  return {
    start(n, { period, jitter = 0, body, async }) {
      const next = waitOf(period, jitter);
      timers = new Array(n);
      for (let i = 0; i < n; i++) {
        const slot = i;
        // Sliding, like a loop that never overlaps: an async body is waited for.
        const tick = async
          ? () => {
              void body().then(() => {
                if (!stopped) timers[slot] = setTimeout(tick, next());
              });
            }
          : () => {
              body();
              timers[slot] = setTimeout(tick, next());
            };
        timers[slot] = setTimeout(tick, next());
      }
    },
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
    },
  };
}

function interval() {
  let timers = [];
  return {
    start(n, { period, body, async }) {
      const cb = async ? () => void body() : body;
      timers = new Array(n);
      for (let i = 0; i < n; i++) timers[i] = setInterval(cb, period);
    },
    stop() {
      for (const t of timers) clearInterval(t);
    },
  };
}

function naive() {
  // One AbortController per loop, as each hand-written service has its own: one signal shared by
  // thousands of sleeps makes Node add and remove each sleep's listener by scanning the whole
  // listener list (quadratic; 10,000 loops at 10 ms then ran at 1% of the ideal rate).
  const controllers = [];
  const loops = [];
  return {
    start(n, { period, jitter = 0, body }) {
      const next = waitOf(period, jitter);
      const loop = async (signal) => {
        while (!signal.aborted) {
          await body({ signal });
          try {
            await sleep(next(), undefined, { signal });
          } catch {
            return;
          }
        }
      };
      for (let i = 0; i < n; i++) {
        const ac = new AbortController();
        controllers.push(ac);
        // Kept to wait for them at shutdown, as a hand-written loop that waits must.
        loops.push(loop(ac.signal));
      }
    },
    stop() {
      for (const ac of controllers) ac.abort();
      return Promise.all(loops);
    },
  };
}

function toadJobs() {
  const scheduler = new toad.ToadScheduler();
  return {
    start(n, { period, body, async }) {
      for (let i = 0; i < n; i++) {
        const task = async ? new toad.AsyncTask('task', body) : new toad.Task('task', body);
        scheduler.addSimpleIntervalJob(new toad.SimpleIntervalJob({ milliseconds: period }, task));
      }
    },
    stop: () => scheduler.stop(),
  };
}

/** Heap used after two full collections (needs --expose-gc). */
export function heapAfterGc() {
  globalThis.gc();
  globalThis.gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

export const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Lets the loops warm up for `warmup` s, then measures `seconds` s of them: the runs completed
 * (`countRuns()` is the running total), the CPU microseconds spent and the wall time in ms.
 */
export async function measureWindow(countRuns, { warmup, seconds }) {
  await pause(warmup * 1000);
  const runs0 = countRuns();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pause(seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  return {
    done: countRuns() - runs0,
    cpuMicros: cpu.user + cpu.system,
    elapsed: performance.now() - t0,
  };
}

/** The scenario's result, on stdout as one JSON line for the runner. */
export function report(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
