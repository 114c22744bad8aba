import { Controller, Inject, Injectable, Module, Scope } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FakeClock } from '../../lib/testing/index.js';
import {
  LeaderElector,
  PollingRegistry,
  Until,
  WaitModule,
  type PollingContext,
  type WaitModuleOptions,
} from '../../lib/index.js';
import { boot } from './support.js';

/* WaitModule: forRoot/forRootAsync, discovery, overrides by name, and the bootstrap errors. */

let calls: string[] = [];
beforeEach(() => {
  calls = [];
});

@Injectable()
class GarbageCollector {
  @Until('1m')
  collectContainers(ctx: PollingContext) {
    calls.push(`${ctx.name}#${ctx.iteration}`);
  }

  @Until('5m', 0.1, false)
  collectImages(ctx: PollingContext) {
    calls.push(`${ctx.name}#${ctx.iteration}`);
  }

  notALoop() {
    calls.push('never');
  }
}

describe('discovery', () => {
  it('starts each @Until method of a provider at bootstrap, named ClassName.methodName, first run at once', async () => {
    const { app, clock } = await boot({ providers: [GarbageCollector] });
    await clock.flush();
    expect(calls.sort()).toEqual([
      'GarbageCollector.collectContainers#1',
      'GarbageCollector.collectImages#1',
    ]);
    const registry = app.get(PollingRegistry);
    expect(registry.list().map((s) => [s.name, s.period, s.jitter, s.sliding, s.state])).toEqual([
      ['GarbageCollector.collectContainers', 60_000, 0, true, 'running'],
      ['GarbageCollector.collectImages', 300_000, 0.1, false, 'running'],
    ]);
    await app.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not run before bootstrap: nothing runs between compile() and init()', async () => {
    const { app, clock } = await boot({ providers: [GarbageCollector] }, {}, { init: false });
    await clock.advance('10m');
    expect(calls).toEqual([]);
    await app.init();
    await clock.flush();
    expect(calls).toHaveLength(2);
    await app.close();
  });

  it('finds loops on controllers too', async () => {
    @Controller('x')
    class StatusController {
      @Until('1s')
      refresh() {
        calls.push('controller');
      }
    }
    const { app, clock } = await boot({ controllers: [StatusController] });
    await clock.advance(2000);
    expect(calls).toEqual(['controller', 'controller', 'controller']);
    await app.close();
  });

  it('a method inherited by two providers gives two loops, named after each class', async () => {
    class Refresher {
      @Until('1s')
      refresh(ctx: PollingContext) {
        calls.push(ctx.name);
      }
    }
    @Injectable()
    class Users extends Refresher {}
    @Injectable()
    class Orders extends Refresher {}
    const { app, clock } = await boot({ providers: [Users, Orders] });
    await clock.advance(1000);
    expect(
      app
        .get(PollingRegistry)
        .list()
        .map((s) => s.name),
    ).toEqual(['Users.refresh', 'Orders.refresh']);
    expect(calls.sort()).toEqual([
      'Orders.refresh',
      'Orders.refresh',
      'Users.refresh',
      'Users.refresh',
    ]);
    await app.close();
  });

  it('one instance under several tokens (useExisting, a factory returning it) is one loop', async () => {
    const { app, clock } = await boot({
      providers: [
        GarbageCollector,
        { provide: 'GC', useExisting: GarbageCollector },
        { provide: 'GC2', useFactory: (gc: GarbageCollector) => gc, inject: [GarbageCollector] },
      ],
    });
    await clock.flush();
    expect(app.get(PollingRegistry).list()).toHaveLength(2);
    expect(calls).toHaveLength(2);
    await app.close();
  });

  it('runs the method on the provider instance (this is bound)', async () => {
    @Injectable()
    class Counter {
      count = 0;
      @Until(100)
      tick() {
        this.count++;
      }
    }
    const { app, clock } = await boot({ providers: [Counter] });
    await clock.advance(500);
    expect(app.get(Counter).count).toBe(6);
    await app.close();
  });
});

describe('bootstrap errors name what is wrong', () => {
  it('a request-scoped provider', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @Until('1s')
      tick() {}
    }
    const { app } = await boot({ providers: [PerRequest] }, {}, { init: false });
    await expect(app.init()).rejects.toThrow(
      /@Until\(\) on PerRequest\.tick: PerRequest is request-scoped .* make it a singleton/,
    );
  });

  it('a transient provider', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class Fresh {
      @Until('1s')
      tick() {}
    }
    const { app } = await boot({ providers: [Fresh] }, {}, { init: false });
    await expect(app.init()).rejects.toThrow(/@Until\(\) on Fresh\.tick: Fresh is transient/);
  });

  it('two loops with one name, and all problems at once', async () => {
    @Injectable()
    class A {
      @Until('1s', { name: 'sync' })
      tick() {}
    }
    @Injectable()
    class B {
      @Until('2s', { name: 'sync' })
      tock() {}
    }
    @Injectable({ scope: Scope.TRANSIENT })
    class C {
      @Until('1s')
      tick() {}
    }
    const { app, clock } = await boot({ providers: [A, B, C] }, {}, { init: false });
    const failure = app.init();
    await expect(failure).rejects.toThrow('two loops are named "sync" (A.tick and B.tock)');
    await expect(failure).rejects.toThrow('@Until() on C.tick: C is transient');
    expect(clock.pendingTimers).toBe(0);
  });

  it('a bad override names the option path and the value', async () => {
    const { app } = await boot(
      { providers: [GarbageCollector] },
      { loops: { 'GarbageCollector.collectImages': { period: '5 minutes' } } },
      { init: false },
    );
    await expect(app.init()).rejects.toThrow(
      'WaitModule options.loops["GarbageCollector.collectImages"]: period "5 minutes" is not a duration',
    );
  });

  it('bad module options throw at forRoot()', () => {
    expect(() => WaitModule.forRoot({ shutdownTimeout: -1 })).toThrow(
      'WaitModule.forRoot(): shutdownTimeout must be a finite duration >= 0; got -1',
    );
    expect(() => WaitModule.forRoot({ shutdownHook: 'onExit' as never })).toThrow(
      `WaitModule.forRoot(): shutdownHook must be one of "onModuleDestroy", "beforeApplicationShutdown", "onApplicationShutdown"; got "onExit"`,
    );
    expect(() => WaitModule.forRoot({ autostart: false } as never)).toThrow(
      'unknown option "autostart"',
    );
    expect(() => WaitModule.forRoot({ clock: {} as never })).toThrow('clock must implement now()');
  });
});

describe('options', () => {
  it('are checked once, where forRoot() receives them; the registry and the elector reuse that check', async () => {
    let reads = 0;
    const leaderElection = {
      get name() {
        reads++;
        return 'once';
      },
    };
    const clock = new FakeClock();
    const ref = await Test.createTestingModule({
      imports: [WaitModule.forRoot({ clock, leaderElection })],
    }).compile();
    const app = await ref.createNestApplication({ logger: false }).init();
    expect(reads).toBe(1);
    const elector = app.get(LeaderElector);
    expect(elector.name).toBe('once');
    await clock.runUntil(app.close());
  });

  it('autoStart: false registers the loops stopped; the registry starts them', async () => {
    const { app, clock } = await boot({ providers: [GarbageCollector] }, { autoStart: false });
    await clock.advance('10m');
    expect(calls).toEqual([]);
    const registry = app.get(PollingRegistry);
    expect(registry.list().map((s) => s.state)).toEqual(['stopped', 'stopped']);
    void registry.start('GarbageCollector.collectContainers');
    await clock.flush();
    expect(calls).toEqual(['GarbageCollector.collectContainers#1']);
    await app.close();
  });

  it('@Until autoStart: false keeps one loop stopped', async () => {
    @Injectable()
    class Manual {
      @Until('1s', { autoStart: false })
      tick() {
        calls.push('manual');
      }
    }
    const { app, clock } = await boot({ providers: [Manual] });
    await clock.advance(5000);
    expect(calls).toEqual([]);
    expect(app.get(PollingRegistry).get('Manual.tick').state).toBe('stopped');
    await app.close();
  });

  it('loops overrides period, jitter, sliding and disabled by name', async () => {
    const { app, clock, logger } = await boot(
      { providers: [GarbageCollector] },
      {
        loops: {
          'GarbageCollector.collectContainers': { period: '10s', jitter: 0, sliding: false },
          'GarbageCollector.collectImages': { disabled: true },
          'GarbageCollector.collectTypo': { period: 1 },
        },
      },
    );
    await clock.advance('30s');
    expect(calls).toEqual([1, 2, 3, 4].map((i) => `GarbageCollector.collectContainers#${i}`));
    const [containers, images] = app.get(PollingRegistry).list();
    expect([containers.period, containers.sliding]).toEqual([10_000, false]);
    expect([images.state, images.iterations]).toEqual(['stopped', 0]);
    expect(logger.of('warn')).toEqual([
      `options.loops names "GarbageCollector.collectTypo", but no loop has that name (loops: "GarbageCollector.collectContainers", "GarbageCollector.collectImages")`,
    ]);
    await app.close();
  });

  it('forRootAsync with useFactory and inject reads periods from a config provider', async () => {
    const clock = new FakeClock();
    @Injectable()
    class Config {
      get(key: string) {
        return key === 'CONTAINER_GC_PERIOD' ? '20s' : undefined;
      }
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}
    const ref = await Test.createTestingModule({
      imports: [
        WaitModule.forRootAsync({
          imports: [ConfigModule],
          inject: [Config],
          useFactory: (config: Config): WaitModuleOptions => ({
            clock,
            loops: {
              'GarbageCollector.collectContainers': { period: config.get('CONTAINER_GC_PERIOD') },
            },
          }),
        }),
      ],
      providers: [GarbageCollector],
    }).compile();
    const app = await ref.createNestApplication({ logger: false }).init();
    await clock.advance('40s');
    expect(calls.filter((c) => c.includes('Containers'))).toHaveLength(3);
    expect(app.get(PollingRegistry).get('GarbageCollector.collectContainers').period).toBe(20_000);
    await app.close();
  });

  it('forRootAsync with useClass and with useExisting', async () => {
    const clock = new FakeClock();
    @Injectable()
    class WaitConfig {
      createWaitModuleOptions(): WaitModuleOptions {
        return { clock, autoStart: false };
      }
    }
    for (const async of [
      { useClass: WaitConfig },
      {
        useExisting: WaitConfig,
        imports: [{ module: class Cfg {}, providers: [WaitConfig], exports: [WaitConfig] }],
      },
    ]) {
      const ref = await Test.createTestingModule({
        imports: [WaitModule.forRootAsync(async)],
        providers: [GarbageCollector],
      }).compile();
      const app = await ref.createNestApplication({ logger: false }).init();
      await clock.advance('10m');
      expect(
        app
          .get(PollingRegistry)
          .list()
          .map((s) => s.state),
      ).toEqual(['stopped', 'stopped']);
      await app.close();
    }
    expect(calls).toEqual([]);
  });

  it('forRootAsync options are checked when the app starts, naming them', async () => {
    const ref = Test.createTestingModule({
      imports: [WaitModule.forRootAsync({ useFactory: () => ({ shutdownTimeout: 'later' }) })],
    }).compile();
    await expect(ref).rejects.toThrow(
      'WaitModule options: shutdownTimeout "later" is not a duration',
    );
  });

  it('is global: a feature module injects PollingRegistry without importing WaitModule', async () => {
    @Injectable()
    class Feature {
      constructor(@Inject(PollingRegistry) readonly registry: PollingRegistry) {}
    }
    @Module({ providers: [Feature], exports: [Feature] })
    class FeatureModule {}
    const { app } = await boot({ imports: [FeatureModule] });
    expect(app.get(Feature).registry).toBe(app.get(PollingRegistry));
    await app.close();
  });
});

describe('WaitModule.forRoot() imported twice', () => {
  it('never runs a loop twice, and says so', async () => {
    const clock = new FakeClock();
    @Module({ imports: [WaitModule.forRoot({ clock })] })
    class FeatureModule {}
    const { app, logger } = await boot(
      { imports: [FeatureModule], providers: [GarbageCollector] },
      {},
      { clock },
    );
    await clock.advance('6m'); // images: jitter 0.1 puts its second run in [5m, 5.5m)
    expect(calls.filter((c) => c.includes('Containers'))).toHaveLength(7);
    expect(calls.filter((c) => c.includes('Images'))).toHaveLength(2);
    expect(logger.of('warn')).toEqual([
      'WaitModule.forRoot() is imported more than once; every loop still runs once, with the options of the first import',
    ]);
    await app.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
