import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  InMemoryLeaseStore,
  PollingRegistry,
  Until,
  WaitModule,
  type LeaseStore,
  type PollingContext,
} from '../../lib/index.js';
import { FakeClock, FakeCluster } from '../../lib/testing/index.js';
import { boot, close, type Booted } from '../polling/support.js';

/* The cluster option, placement per loop and their bad input. */

let clock: FakeClock;
let apps: Booted[];
beforeEach(() => {
  clock = new FakeClock();
  apps = [];
});
afterEach(async () => {
  for (const app of apps) await close(app);
});

const cluster = (extra: object = {}) => ({
  cluster: { store: new InMemoryLeaseStore(clock), name: 'c', identity: 'me', ...extra },
});
const registryOf = (b: Booted) => b.app.get(PollingRegistry);

describe('placement', () => {
  it('cluster.placement is the default of every loop; a loop or an override says otherwise', async () => {
    @Injectable()
    class Jobs {
      @Until('1s')
      plain() {}
      @Until('1s', { placement: 'every' })
      everywhere() {}
      @Until('1s', { leaderOnly: true })
      leader() {}
      @Until('1s')
      overridden() {}
    }
    const b = await boot(
      { providers: [Jobs] },
      {
        ...cluster({ placement: 'spread' }),
        loops: { 'Jobs.overridden': { placement: 'leader' } },
      },
      { clock },
    );
    apps.push(b);
    const placements = Object.fromEntries(
      registryOf(b)
        .list()
        .map((s) => [s.name, s.placement]),
    );
    expect(placements).toEqual({
      'Jobs.plain': 'spread',
      'Jobs.everywhere': 'every',
      'Jobs.leader': 'leader',
      'Jobs.overridden': 'leader',
    });
    await clock.advance('3s');
    const spread = registryOf(b).get('Jobs.plain');
    expect(spread).toMatchObject({ state: 'running', owner: 'me' });
    expect(registryOf(b).get('Jobs.leader')).toMatchObject({ owner: 'me' });
    expect(registryOf(b).get('Jobs.everywhere').owner).toBeUndefined();
  });

  it('leaderElection is cluster under its old name: loops are leader loops by default', async () => {
    const b = await boot(
      {},
      { leaderElection: { store: new InMemoryLeaseStore(clock), name: 'c' } },
      { clock },
    );
    apps.push(b);
    registryOf(b).add('x', () => undefined, { period: 1000 });
    registryOf(b).add('y', () => undefined, { period: 1000, placement: 'spread' });
    expect(registryOf(b).get('x').placement).toBe('leader');
    expect(registryOf(b).get('y').placement).toBe('spread');
  });

  it('a spread loop gets its own fencing token in ctx', async () => {
    const tokens: (number | undefined)[] = [];
    const b = await boot({}, cluster(), { clock });
    apps.push(b);
    registryOf(b).add('x', ({ fencingToken }: PollingContext) => void tokens.push(fencingToken), {
      period: 1000,
      placement: 'spread',
    });
    await clock.advance('2500ms');
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.every((t) => typeof t === 'number' && t > 0)).toBe(true);
  });

  it('forRootAsync takes cluster too', async () => {
    const fake = new FakeCluster();
    const replica = fake.replica('a');
    @Module({
      providers: [{ provide: 'CONFIG', useValue: { placement: 'spread' as const } }],
      exports: ['CONFIG'],
    })
    class ConfigModule {}
    const ref = await Test.createTestingModule({
      imports: [
        WaitModule.forRootAsync({
          imports: [ConfigModule],
          inject: ['CONFIG'],
          useFactory: (config: { placement: 'spread' }) => replica.options(config.placement),
        }),
      ],
    }).compile();
    const app = ref.createNestApplication({ logger: false });
    await app.init();
    const registry = app.get(PollingRegistry);
    registry.add('x', () => undefined, { period: 1000 });
    await fake.clock.advance('3s');
    expect(registry.get('x')).toMatchObject({ placement: 'spread', owner: 'a', state: 'running' });
    await fake.clock.runUntil(app.close());
  });
});

describe('bad input', () => {
  it('an unknown placement names the value and the call', async () => {
    const b = await boot({}, cluster(), { clock });
    apps.push(b);
    expect(() =>
      registryOf(b).add('x', () => undefined, { period: 1000, placement: 'anywhere' as never }),
    ).toThrow(
      /PollingRegistry.add\(\): placement must be 'leader', 'spread' or 'every'; got "anywhere"/,
    );
    expect(registryOf(b).has('x')).toBe(false);
    expect(() => WaitModule.forRoot(cluster({ placement: 'all' }))).toThrow(
      /cluster: placement must be 'leader', 'spread' or 'every'; got "all"/,
    );
  });

  it('placement and leaderOnly that disagree are refused', async () => {
    const b = await boot({}, cluster(), { clock });
    apps.push(b);
    expect(() =>
      registryOf(b).add('x', () => undefined, {
        period: 1000,
        placement: 'spread',
        leaderOnly: true,
      }),
    ).toThrow(/placement "spread" contradicts leaderOnly: true/);
    registryOf(b).add('y', () => undefined, {
      period: 1000,
      placement: 'leader',
      leaderOnly: true,
    });
    expect(registryOf(b).get('y').placement).toBe('leader');
  });

  it('spread without cluster fails bootstrap naming the method; add() throws', async () => {
    @Injectable()
    class Lonely {
      @Until('1s', { placement: 'spread' })
      tick() {}
    }
    const booted = await boot({ providers: [Lonely] }, {}, { clock, init: false });
    await expect(booted.app.init()).rejects.toThrow(
      /@Until\(\) on Lonely.tick: placement "spread" needs WaitModule's cluster option/,
    );
    const plain = await boot({}, {}, { clock });
    apps.push(plain);
    expect(() =>
      registryOf(plain).add('x', () => undefined, { period: 1000, placement: 'spread' }),
    ).toThrow(/PollingRegistry.add\(\): placement "spread" needs WaitModule's cluster option/);
  });

  it('spread on a store without the cluster calls is refused, naming them', async () => {
    const inner = new InMemoryLeaseStore(clock);
    const leasesOnly: LeaseStore = {
      acquire: (name, identity, ttl) => inner.acquire(name, identity, ttl),
      renew: (name, lease, ttl) => inner.renew(name, lease, ttl),
      release: (name, lease) => inner.release(name, lease),
    };
    const b = await boot({}, { cluster: { store: leasesOnly, name: 'c' } }, { clock });
    apps.push(b);
    expect(() =>
      registryOf(b).add('x', () => undefined, { period: 1000, placement: 'spread' }),
    ).toThrow(
      /placement 'spread' needs a store with the cluster calls \(heartbeat\(\), claimLoops\(\)/,
    );
    registryOf(b).add('y', () => undefined, { period: 1000 });
    expect(registryOf(b).get('y').placement).toBe('leader');
  });

  it('cluster and leaderElection together are refused', () => {
    expect(() => WaitModule.forRoot({ ...cluster(), leaderElection: { name: 'c' } })).toThrow(
      /set cluster or leaderElection, not both/,
    );
  });
});
