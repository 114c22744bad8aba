import { jest } from '@jest/globals';
import { ServiceUnavailableException, type INestApplication, type Type } from '@nestjs/common';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { TerminusModule } from '@nestjs/terminus';
import { WaitHealthIndicator } from '../../lib/terminus/index.js';
import { Redis } from 'ioredis';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import ts from 'typescript';
import {
  LeaderElector,
  PollingRegistry,
  WaitModule,
  type PollingContext,
  type LoopStatus,
} from '../../lib/index.js';
import { WAIT_MODULE_OPTIONS } from '../../lib/polling/wait.module-definition.js';
import { FakeClock } from '../../lib/testing/index.js';
import { DATABASE_URL, REDIS_URL, describeWith, unique, until } from '../leader/servers.js';
import { CapturingLogger } from '../polling/support.js';
import { calls, install, reset } from './readme-globals.js';
import { readmeBlocks, root, type Block } from './readme-blocks.js';
import { repoCompilerOptions } from '../support/typescript.js';

/*
 * Every ```ts example of the README runs, as a user who copied it would run it. Each block is
 * transpiled with the repo's compiler options (decorators and their metadata, as `tsc` emits
 * them: an `import type` used as a constructor parameter is `Object` to Nest, as in an app),
 * written to test/docs/.run/ (git-ignored, removed afterwards) and imported, so `nestjs-wait`,
 * `@nestjs/*` and `pg` resolve as they do for the other tests. The app's own services come from
 * readme-globals.ts. Each block has exactly one runner below, found by the heading the block
 * sits under and a line only it has: a new example without a runner fails the suite.
 */

const blocks = await readmeBlocks();
const out = `${root}test/docs/.run/`;

/** Compiler options of tsconfig.json (NodeNext: a `.mts` file is emitted as an ES module). */
const options: ts.CompilerOptions = {
  ...repoCompilerOptions(),
  noEmit: false,
  declaration: false,
  sourceMap: false,
};

type Exports = Record<string, unknown>;

/** Runs `fn` with `vars` set (`undefined`: unset) in the environment, restored afterwards. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>) {
  const before = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  set(vars);
  try {
    return await fn();
  } finally {
    set(before);
  }
}

/** Transpiles `code` (a block, or a variant of one), writes it as `name.mjs` and imports it. */
async function load(name: string, code: string): Promise<Exports> {
  const { outputText, diagnostics } = ts.transpileModule(code, {
    compilerOptions: options,
    fileName: `${name}.mts`,
    reportDiagnostics: true,
  });
  expect(diagnostics ?? []).toEqual([]);
  const file = `${out}${name}.mjs`;
  await writeFile(file, outputText);
  return (await import(pathToFileURL(file).href)) as Exports;
}

/** An export of a loaded block, failing the test when the block no longer has it. */
function exported<T = Type>(module: Exports, name: string): T {
  expect(module).toHaveProperty(name);
  return module[name] as T;
}

/** The block's code with `from` replaced by `to`: a runner's check, shown to fail on it. */
function variant(block: Block, from: string, to: string): string {
  expect(block.code).toContain(from);
  return block.code.replace(from, to);
}

interface Runner {
  /** The heading the block sits under, as written in README.md. */
  heading: string;
  /** A line only this block has. */
  marker: string;
  /** Imports the block and checks it does what the README says. */
  run: (block: Block) => Promise<void>;
  /** Needs this server (the runner is skipped outside CI when it is down). */
  server?: 'redis' | 'postgres';
}

function runnersOf(block: Block): Runner[] {
  return runners.filter((r) => r.heading === block.heading && block.code.includes(r.marker));
}

function blockOf(runner: Runner): Block {
  const found = blocks.filter((b) => runnersOf(b).includes(runner));
  expect(found).toHaveLength(1);
  return found[0];
}

/** Compiles a testing module quietly (its logs kept in `logger`) and initialises its app. */
async function start(builder: TestingModuleBuilder, logger = new CapturingLogger()) {
  const ref = await builder.setLogger(logger).compile();
  return ref.createNestApplication({ logger }).init();
}

/** A loop's status in `app`. */
function loop(app: INestApplication, name: string): LoopStatus {
  return app.get(PollingRegistry).get(name);
}

/** How many times the app's stand-in `name` was called (see readme-globals.ts). */
function count(name: string): number {
  return calls.filter((c) => c === name).length;
}

const runners: Runner[] = [
  {
    heading: '## Quick start',
    marker: 'export class GarbageCollector {',
    // Its AppModule as written, with the module's options replaced by a FakeClock (the block
    // has forRoot() without options): the container loop every minute, images every 5-5.5.
    run: async (block) => {
      const module = await load('quick-start', block.code);
      const clock = new FakeClock();
      const app = await start(
        Test.createTestingModule({ imports: [exported(module, 'AppModule')] })
          .overrideProvider(WAIT_MODULE_OPTIONS)
          .useValue({ clock }),
      );
      await clock.advance('5m30s');
      expect(count('removeDeadContainers')).toBe(6); // 0, 1m, ... 5m
      expect(count('removeUnusedImages')).toBe(2); // 0, and 5m to 5m30s
      expect(log).toHaveBeenCalledWith('GarbageCollector.collectImages: run 2');
      await clock.runUntil(app.close());
      expect(clock.pendingTimers).toBe(0);
    },
  },
  {
    heading: '## `@Until`',
    marker: 'export class Jobs {',
    // fetch is stubbed (nothing listens on 127.0.0.1:8080): the queue answers 503 once, so
    // its next poll comes after the backoff's 1s, then on the 5s period; reports after 10s.
    run: async (block) => {
      const module = await load('until', block.code);
      const clock = new FakeClock();
      const fetched: string[] = [];
      let queue = 0;
      jest
        .spyOn(globalThis, 'fetch')
        .mockImplementation((input: string | URL | Request, init?: RequestInit) => {
          const url = input instanceof Request ? input.url : input.toString();
          fetched.push(`${clock.now()} ${init?.method ?? 'GET'} ${url}`);
          if (!(init?.signal instanceof AbortSignal)) {
            return Promise.reject(new Error('no signal passed on'));
          }
          const ok = !url.endsWith('/queue') || queue++ > 0;
          return Promise.resolve(new Response(null, { status: ok ? 200 : 503 }));
        });
      const app = await start(
        Test.createTestingModule({
          imports: [WaitModule.forRoot({ clock })],
          providers: [exported(module, 'Jobs')],
        }),
      );
      await clock.advance('11s');
      expect(fetched).toEqual([
        '0 GET http://127.0.0.1:8080/queue',
        '1000 GET http://127.0.0.1:8080/queue',
        '6000 GET http://127.0.0.1:8080/queue',
        '10000 POST http://127.0.0.1:8080/reports',
        '11000 GET http://127.0.0.1:8080/queue',
      ]);
      expect(loop(app, 'Jobs.refreshCache')).toMatchObject({ iterations: 1, failures: 0 });
      expect(loop(app, 'reports')).toMatchObject({ iterations: 1, failures: 0 });
      expect(loop(app, 'Jobs.pollQueue')).toMatchObject({ iterations: 4, failures: 1 });
      await clock.runUntil(app.close());
    },
  },
  {
    heading: '## `WaitModule`',
    marker: 'WaitModule.forRootAsync({',
    // Configured from the environment (strings): image GC disabled at 100, container GC on
    // its period. The same check on the block as it was (`=== 100`) sees image GC running.
    run: async (block) => {
      const fixed = await configured(await load('wait-module', block.code));
      expect(fixed).toEqual({ images: 'stopped', containers: ['running', 200] });
      const before = variant(
        block,
        "Number(config.get('IMAGE_GC_HIGH_THRESHOLD')) === 100",
        "config.get('IMAGE_GC_HIGH_THRESHOLD') === 100",
      );
      const broken = await configured(await load('wait-module-number', before));
      expect(broken.images).toBe('running');
    },
  },
  {
    heading: '## `PollingRegistry`',
    marker: 'export class Reports {',
    // demo() as written, on a FakeClock, in an app that has the quick start's loops.
    run: async (block) => {
      const module = await load('polling-registry', block.code);
      const clock = new FakeClock();
      const Reports = exported(module, 'Reports');
      const app = await start(
        Test.createTestingModule({
          imports: [WaitModule.forRoot({ clock })],
          providers: [ContainerRuntime, GarbageCollector, ReportService, Reports],
        }),
      );
      await clock.runUntil(app.get<{ demo(): Promise<void> }>(Reports).demo());
      expect(count('send')).toBeGreaterThanOrEqual(1); // trigger() ran it at least
      expect(app.get(PollingRegistry).has('reports')).toBe(false);
      await clock.advance('1m'); // the subscription sees the container loop's next run
      expect(log).toHaveBeenCalledWith('started', 'GarbageCollector.collectContainers');
      await clock.runUntil(app.close());
    },
  },
  {
    heading: '## Testing with `FakeClock`',
    marker: 'const moduleRef = await Test.createTestingModule({',
    // Top-level await with its own expect()s: importing it runs it.
    run: async (block) => {
      await load('testing-module', block.code);
      expect(count('removeDeadContainers')).toBe(4);
    },
  },
  {
    heading: '## Testing with `FakeClock`',
    marker: 'const done = until(fn, ',
    run: async (block) => {
      await load('testing-engine', block.code);
      expect(log.mock.calls).toEqual([
        ['run', 1],
        ['run', 2],
        ['run', 3],
        ['run', 4],
      ]);
    },
  },
  {
    heading: '## Health checks (Terminus)',
    marker: 'export class HealthController {',
    // Its HealthModule beside the quick start's loops: healthy, then down once container GC
    // has failed for more than 3 periods.
    run: async (block) => {
      const module = await load('health', block.code);
      const clock = new FakeClock();
      const app = await start(
        Test.createTestingModule({
          imports: [WaitModule.forRoot({ clock }), exported(module, 'HealthModule')],
          providers: [ContainerRuntime, GarbageCollector],
        }),
      );
      const controller = app.get<{ check(): Promise<unknown> }>(
        exported(module, 'HealthController'),
      );
      await expect(controller.check()).resolves.toMatchObject({
        status: 'ok',
        info: { loops: { status: 'up', loops: { 'GarbageCollector.collectContainers': {} } } },
      });
      const runtime = app.get(ContainerRuntime);
      jest.spyOn(runtime, 'removeDeadContainers').mockRejectedValue(new Error('runtime down'));
      await clock.advance('4m');
      await expect(controller.check()).rejects.toThrow(ServiceUnavailableException);
      await clock.runUntil(app.close());
    },
  },
  {
    heading: '## Health checks (Terminus)',
    marker: 'export class Probes {',
    // Beside the quick start's loops, with in-memory leader election: liveness leaves the
    // excluded loop out; readiness is up once this replica leads, and reports no loop.
    run: async (block) => {
      const module = await load('probes', block.code);
      const clock = new FakeClock();
      const Probes = exported(module, 'Probes');
      const app = await start(
        Test.createTestingModule({
          imports: [
            WaitModule.forRoot({ clock, leaderElection: { name: 'probes' } }),
            TerminusModule,
          ],
          providers: [ContainerRuntime, GarbageCollector, WaitHealthIndicator, Probes],
        }),
      );
      await clock.advance('1s');
      const probes = app.get<{ liveness(): unknown; readiness(): unknown }>(Probes);
      expect(probes.liveness()).toMatchObject({
        loops: { status: 'up', unknown: ['nightly-report'] },
      });
      expect(probes.readiness()).toMatchObject({ leadership: { status: 'up', loops: {} } });
      await clock.runUntil(app.close());
    },
  },
  {
    heading: '## Leader election',
    marker: 'export class Sweeper {',
    server: 'redis',
    run: leaderElection,
  },
  {
    heading: '### Fencing tokens',
    marker: 'export class InvoiceRun {',
    server: 'postgres',
    run: fencing,
  },
  {
    heading: '## A cluster: loops spread over the replicas',
    marker: 'export class TenantPollers',
    server: 'redis',
    run: spread,
  },
  {
    heading: '### Testing a cluster with `FakeCluster`',
    marker: 'export async function twoReplicas()',
    run: async (block) => {
      const module = await load('fake-cluster', block.code);
      const twoReplicas = exported<() => Promise<Record<string, string | undefined>>>(
        module,
        'twoReplicas',
      );
      expect(await twoReplicas()).toEqual({ a: 'one', b: 'one', c: 'one', d: 'one' });
    },
  },
  {
    heading: '## The engine',
    marker: 'void jitterUntil(',
    // Top-level await: the poll waits for the second fetchStatus() ('ready'), 200ms later.
    run: async (block) => {
      await load('engine', block.code);
      expect(count('collectGarbage')).toBe(1);
      expect(count('collectImages')).toBe(1);
      expect(count('fetchStatus')).toBe(2);
    },
  },
  {
    heading: '## Dashboard',
    marker: "WaitDashboardModule.forRoot({ path: '/wait', readOnly: false })",
    async run(block) {
      const module = await load('dashboard', block.code);
      const ref = await Test.createTestingModule({
        imports: [exported(module, 'DashboardAppModule')],
      })
        .setLogger(new CapturingLogger())
        .compile();
      const app = ref.createNestApplication({ logger: new CapturingLogger() });
      await app.listen(0, '127.0.0.1');
      try {
        const base = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/wait`;
        const page = await fetch(base);
        expect(page.status).toBe(200);
        expect(page.headers.get('content-type')).toMatch(/^text\/html/);
        const state = (await (await fetch(`${base}/api/state`)).json()) as { readOnly: boolean };
        expect(state.readOnly).toBe(false);
        // Without the header a cross-site form cannot send: refused.
        const bare = await fetch(`${base}/api/loops/none/trigger`, { method: 'POST' });
        expect(bare.status).toBe(403);
      } finally {
        await app.close();
      }
    },
  },
];

/**
 * Boots the `WaitModule` block's AppModule with IMAGE_GC_HIGH_THRESHOLD=100 and
 * CONTAINER_GC_PERIOD=200ms in the environment, until its first container GC run; answers the
 * image loop's state and the container loop's state and period. On the real clock: the block's
 * own factory makes the options, so there is no clock to pass.
 */
async function configured(module: Exports) {
  const vars = { IMAGE_GC_HIGH_THRESHOLD: '100', CONTAINER_GC_PERIOD: '200ms' };
  return withEnv(vars, async () => {
    const app = await start(Test.createTestingModule({ imports: [exported(module, 'AppModule')] }));
    try {
      await until('a container GC run', () => (count('removeDeadContainers') ? 1 : undefined));
      const images = loop(app, 'GarbageCollector.collectImages');
      const containers = loop(app, 'GarbageCollector.collectContainers');
      return { images: images.state, containers: [containers.state, containers.period] };
    } finally {
      await app.close();
      reset();
    }
  });
}

/**
 * The leader election block on the real Redis: its AppModule as written, REDIS_URL pointing at
 * a database of its own (the example's lease name is fixed, and other test runs may share the
 * server); its lease keys are deleted afterwards.
 */
async function leaderElection(block: Block): Promise<void> {
  const url = new URL(REDIS_URL);
  url.pathname = `/${1 + Math.floor(Math.random() * 15)}`;
  const identity = unique('readme-sweeper-');
  const redis = new Redis(url.href, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const keys = () => redis.keys('nestjs-wait:lease:{sweeper}*');
  try {
    await redis.connect();
    expect(await keys()).toEqual([]); // no other run uses this database now
    // Read when the block is imported (its @Module's arguments).
    const env = { REDIS_URL: url.href, POD_NAME: identity };
    const module = await withEnv(env, () => load('leader-election', block.code));
    const app = await start(Test.createTestingModule({ imports: [exported(module, 'AppModule')] }));
    try {
      await until('the leader-only sweep', () => (count('collectGarbage') ? 1 : undefined));
      const elector = app.get(LeaderElector);
      expect([elector.isLeader, elector.leaderIdentity]).toEqual([true, identity]);
      expect(await redis.get('nestjs-wait:lease:{sweeper}')).toMatch(new RegExp(` ${identity}$`));
      expect(loop(app, 'Sweeper.refreshCache').state).toBe('running');
    } finally {
      await app.close();
    }
    // Released on shutdown; the token counter outlives leases by design.
    expect(await keys()).toEqual(['nestjs-wait:lease:{sweeper}:token']);
  } finally {
    if (redis.status === 'ready') {
      const left = await keys();
      if (left.length > 0) await redis.del(...left);
    }
    redis.disconnect();
  }
}

/**
 * The cluster block on the real Redis, in a database of its own as the leader election block:
 * each tenant's poller runs with a fencing token, spread, owned by this one replica; the
 * cluster's keys are deleted afterwards.
 */
async function spread(block: Block): Promise<void> {
  const url = new URL(REDIS_URL);
  url.pathname = `/${1 + Math.floor(Math.random() * 15)}`;
  const redis = new Redis(url.href, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const keys = () => redis.keys('nestjs-wait:*tenants*');
  try {
    await redis.connect();
    const module = await withEnv({ REDIS_URL: url.href }, () => load('cluster', block.code));
    const app = await start(Test.createTestingModule({ imports: [exported(module, 'AppModule')] }));
    try {
      const tenants = ['acme', 'globex', 'initech'];
      await until('every tenant polled', () =>
        tenants.every((t) => count(`pollTenant:${t}`) > 0) ? 1 : undefined,
      );
      for (const t of tenants) {
        expect(loop(app, `poll:${t}`)).toMatchObject({ placement: 'spread', state: 'running' });
      }
    } finally {
      await app.close();
      reset();
    }
  } finally {
    if (redis.status === 'ready') {
      const left = await keys();
      if (left.length > 0) await redis.del(...left);
    }
    redis.disconnect();
  }
}

/**
 * The fencing example on the real PostgreSQL, with leader election on a FakeClock so that
 * `ctx.fencingToken` is set: its billing_state in a schema of its own (DATABASE_URL's
 * search_path), dropped afterwards.
 */
async function fencing(block: Block): Promise<void> {
  const schema = unique('readme_');
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  const token = async () =>
    (
      await admin.query<{ fencing_token: string; last_run: Date | null }>(
        `SELECT fencing_token, last_run FROM ${schema}.billing_state WHERE id = 1`,
      )
    ).rows[0];
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${schema}.billing_state
      (id int PRIMARY KEY, last_run timestamptz, fencing_token bigint NOT NULL)`);
    await admin.query(`INSERT INTO ${schema}.billing_state VALUES (1, NULL, 0)`);
    // Read by the pool's factory, at bootstrap.
    await withEnv({ DATABASE_URL: url.href }, async () => {
      const module = await load('fencing', block.code);
      const InvoiceRun = exported<Type<{ bill(ctx: PollingContext): Promise<void> }>>(
        module,
        'InvoiceRun',
      );
      const app = await start(
        Test.createTestingModule({
          imports: [
            WaitModule.forRoot({
              clock: new FakeClock(),
              shutdownHook: 'beforeApplicationShutdown',
              leaderElection: { name: unique('readme-billing-') },
            }),
            exported(module, 'BillingModule'),
          ],
        }),
      );
      try {
        const bill = () => loop(app, 'InvoiceRun.bill');
        await until('the first run to settle', () =>
          bill().iterations > 0 && !bill().inFlight ? 1 : undefined,
        );
        expect(bill()).toMatchObject({ failures: 0 });
        const leader = app.get(LeaderElector).fencingToken!;
        expect(leader).toBeGreaterThan(0);
        const written = await token();
        expect(written.fencing_token).toBe(String(leader));
        expect(written.last_run).toBeInstanceOf(Date);
        // A stale leader's write is refused and changes nothing.
        const stale = { fencingToken: leader - 1 } as PollingContext;
        await expect(app.get(InvoiceRun).bill(stale)).rejects.toThrow(
          `superseded: token ${leader - 1} is stale`,
        );
        expect((await token()).fencing_token).toBe(String(leader));
        // Once a newer leader has written, this one's next run is refused in turn.
        await admin.query(`UPDATE ${schema}.billing_state SET fencing_token = $1`, [leader + 1]);
        await app.get(PollingRegistry).trigger('InvoiceRun.bill');
        expect(bill()).toMatchObject({ failures: 1 });
        expect(String(bill().lastError)).toContain(`superseded: token ${leader} is stale`);
      } finally {
        // BillingModule ends its pool in onApplicationShutdown, after the loops stopped.
        await app.close();
      }
    });
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

beforeAll(async () => {
  // Under the repo, so that the blocks' imports resolve from its node_modules.
  await mkdir(out, { recursive: true });
  install();
  // The testing, registry and health examples take the quick start's class as the app's.
  const quickStart = blocks.find((b) => b.code.includes(runners[0].marker));
  expect(quickStart).toBeDefined();
  const module = await load('quick-start', quickStart!.code);
  Object.assign(globalThis, { GarbageCollector: exported(module, 'GarbageCollector') });
});

/** console.log, which the examples print to, kept quiet. */
let log: jest.SpiedFunction<typeof console.log>;
beforeEach(() => {
  reset();
  log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());
afterAll(() => rm(out, { recursive: true, force: true }));

it('every ```ts block of the README has exactly one runner, and every runner a block', () => {
  const problems = blocks
    .map((b) => ({ b, found: runnersOf(b).length }))
    .filter(({ found }) => found !== 1)
    .map(({ b, found }) => `README.md:${b.line} (${b.heading}): ${found} runners`);
  const unused = runners
    .filter((r) => !blocks.some((b) => runnersOf(b).includes(r)))
    .map((r) => `no block under "${r.heading}" has "${r.marker}"`);
  expect([...problems, ...unused]).toEqual([]);
});

for (const runner of runners.filter((r) => r.server === undefined)) {
  it(`runs the example under "${runner.heading}" (${runner.marker})`, () =>
    runner.run(blockOf(runner)));
}

for (const server of ['redis', 'postgres'] as const) {
  (await describeWith(server))(`on the real ${server}`, () => {
    for (const runner of runners.filter((r) => r.server === server)) {
      it(`runs the example under "${runner.heading}" (${runner.marker})`, () =>
        runner.run(blockOf(runner)));
    }
  });
}

/** A JSON value's structure: its keys, and the type of each leaf. */
function shape(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value === null ? 'null' : typeof value;
  if (Array.isArray(value)) return value.map(shape);
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, shape(v)]));
}

it("the README's /health answer has the keys the sample answers with its defaults", async () => {
  const json = (await readmeBlocks('json')).filter(
    (b) => b.heading === '## Health checks (Terminus)',
  );
  expect(json).toHaveLength(1);
  const documented = JSON.parse(json[0].code) as unknown;
  // The sample's defaults: the in-memory lease store (so this replica leads), both GC loops on.
  const unset = ['REDIS_URL', 'DATABASE_URL', 'POD_NAME', 'IMAGE_GC_HIGH_THRESHOLD_PERCENT'];
  await withEnv(Object.fromEntries(unset.map((key) => [key, undefined])), async () => {
    const { AppModule } = await import('../../sample/app.module.js');
    const app = await start(Test.createTestingModule({ imports: [AppModule] }));
    try {
      await app.listen(0, '127.0.0.1');
      const registry = app.get(PollingRegistry);
      await until('a success of every loop', () =>
        registry.list().every((l) => l.lastSucceededAt !== undefined) ? 1 : undefined,
      );
      const response = await fetch(`${await app.getUrl()}/health`);
      expect(response.status).toBe(200);
      const answer = (await response.json()) as { details?: unknown };
      // The README leaves `details` out: a copy of `info`.
      expect(answer.details).toEqual((answer as { info?: unknown }).info);
      delete answer.details;
      expect(shape(documented)).toEqual(shape(answer));
    } finally {
      await app.close();
    }
  });
});
