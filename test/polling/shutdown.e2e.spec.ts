import {
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { FakeClock } from '../../lib/testing/index.js';
import { PollingRegistry, Until, type LoopContext, type ShutdownHook } from '../../lib/index.js';
import { boot, deferred } from './support.js';

/* Graceful shutdown: every ctx.signal aborts, runs in flight get shutdownTimeout, no timer is left. */

let clock: FakeClock;
let events: string[];
beforeEach(() => {
  clock = new FakeClock();
  events = [];
});

describe('shutdown', () => {
  it('aborts ctx.signal of the run in flight and waits for it before app.close() resolves', async () => {
    const release = deferred();
    let signal: AbortSignal | undefined;
    @Injectable()
    class Worker {
      @Until('1s')
      async tick(ctx: LoopContext) {
        signal = ctx.signal;
        ctx.signal.addEventListener('abort', () => events.push('aborted'));
        await release.promise;
        events.push('run settled');
      }
    }
    const { app, logger } = await boot({ providers: [Worker] }, {}, { clock });
    await clock.flush();
    const closed = app.close().then(() => events.push('closed'));
    await clock.flush();
    expect(signal!.aborted).toBe(true);
    expect(events).toEqual(['aborted']);
    release.resolve();
    await closed;
    expect(events).toEqual(['aborted', 'run settled', 'closed']);
    expect(logger.of('log')).toContain('Shutdown: stopped 1 loop, after 1 run in flight settled');
    expect(clock.pendingTimers).toBe(0);
  });

  it('a run that gives up with the abort (signal.reason or an AbortError) is not a failure; other errors are', async () => {
    @Injectable()
    class Cancellable {
      @Until('1s')
      async honest(ctx: LoopContext) {
        await new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)),
        );
      }
      @Until('1s')
      async wrapped(ctx: LoopContext) {
        await new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () =>
            reject(new Error('query cancelled', { cause: ctx.signal.reason })),
          ),
        );
      }
      @Until('1s')
      async broken(ctx: LoopContext) {
        await new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new Error('rollback failed'))),
        );
      }
    }
    const { app, logger } = await boot({ providers: [Cancellable] }, {}, { clock });
    await clock.flush();
    const registry = app.get(PollingRegistry);
    await app.close();
    expect(registry.list().map((s) => [s.name, s.failures])).toEqual([
      ['Cancellable.honest', 0],
      ['Cancellable.wrapped', 0],
      ['Cancellable.broken', 1],
    ]);
    expect(logger.of('error')).toEqual(['Loop Cancellable.broken failed (once)']);
  });

  it('a loop waiting for its next run stops at once and never runs again', async () => {
    let runs = 0;
    @Injectable()
    class Worker {
      @Until('1m')
      tick() {
        runs++;
      }
    }
    const { app } = await boot({ providers: [Worker] }, {}, { clock });
    await clock.advance('30s');
    await app.close(); // resolves without the clock moving: nothing was in flight
    await clock.advance('10m');
    expect(runs).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('shutdownTimeout expires with a warning naming the runs still in flight', async () => {
    @Injectable()
    class Stubborn {
      @Until('1s')
      async ignoresTheSignal() {
        await new Promise(() => undefined); // never settles, ignores ctx.signal
      }
      @Until('1s')
      async listens(ctx: LoopContext) {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      }
    }
    const { app, logger } = await boot(
      { providers: [Stubborn] },
      { shutdownTimeout: '5s' },
      { clock },
    );
    await clock.flush();
    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await clock.advance(4999);
    expect(closed).toBe(false);
    await clock.advance(1);
    await closing;
    expect(logger.of('warn')).toEqual([
      'Shutdown: Stubborn.ignoresTheSignal still running 5000 ms after the stop signal; not waiting any longer',
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('start, trigger and add are refused once shutdown has begun; stop and get still answer', async () => {
    @Injectable()
    class Worker {
      @Until('1s')
      tick() {}
    }
    const { app } = await boot({ providers: [Worker] }, {}, { clock });
    const registry = app.get(PollingRegistry);
    await app.close();
    const closed = /the application is shutting down; loops no longer start/;
    expect(() => registry.start('Worker.tick')).toThrow(closed);
    await expect(registry.trigger('Worker.tick')).rejects.toThrow(closed);
    registry.add('late', () => undefined, { period: 1 });
    await clock.advance(10);
    expect(registry.get('late')).toMatchObject({ state: 'stopped', iterations: 0 });
    await expect(registry.stop('Worker.tick')).resolves.toBeUndefined();
    expect(registry.get('Worker.tick').state).toBe('stopped');
  });
});

describe('shutdownHook', () => {
  /*
   * Nest runs each shutdown phase (onModuleDestroy, beforeApplicationShutdown, close the HTTP
   * server, onApplicationShutdown) over every module, and a global module such as WaitModule comes
   * last within a phase. These tests pin that order for each choice of hook.
   */
  async function order(hook: ShutdownHook | undefined): Promise<string[]> {
    const seen: string[] = [];
    @Injectable()
    class Resources implements OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown {
      onModuleDestroy() {
        seen.push('cache closed (onModuleDestroy)');
      }
      beforeApplicationShutdown() {
        seen.push('queue closed (beforeApplicationShutdown)');
      }
      onApplicationShutdown() {
        seen.push('database closed (onApplicationShutdown, like TypeORM)');
      }
    }
    @Module({ providers: [Resources], exports: [Resources] })
    class ResourcesModule {}
    @Injectable()
    class Worker {
      @Until('1s')
      tick(ctx: LoopContext) {
        ctx.signal.addEventListener('abort', () => seen.push('loop aborted'));
      }
    }
    const { app } = await boot(
      { imports: [ResourcesModule], providers: [Worker] },
      hook === undefined ? {} : { shutdownHook: hook },
      { clock },
    );
    await clock.flush();
    await app.close();
    return seen;
  }

  const cache = 'cache closed (onModuleDestroy)';
  const queue = 'queue closed (beforeApplicationShutdown)';
  const database = 'database closed (onApplicationShutdown, like TypeORM)';

  it('onApplicationShutdown (the default): loops run until after every resource is released', async () => {
    expect(await order(undefined)).toEqual([cache, queue, database, 'loop aborted']);
  });

  it('beforeApplicationShutdown: loops stop before onApplicationShutdown releases resources', async () => {
    expect(await order('beforeApplicationShutdown')).toEqual([
      cache,
      queue,
      'loop aborted',
      database,
    ]);
  });

  it('onModuleDestroy: loops stop before any beforeApplicationShutdown or onApplicationShutdown', async () => {
    expect(await order('onModuleDestroy')).toEqual([cache, 'loop aborted', queue, database]);
  });
});
