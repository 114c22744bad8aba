/**
 * The package as users get it: `npm pack`, its contents, publint and arethetypeswrong on the
 * tarball, the main entry's declarations free of optional peers, then the tarball installed into
 * throwaway apps on Nest 11 and Nest 12, each booting one `@Until` loop from an ES module, from
 * CommonJS (`require('nestjs-wait')`) and from TypeScript compiled with `module: commonjs`, and
 * closing cleanly, and serving `nestjs-wait/dashboard` on Express; type-checked from `.mts` and
 * `.cts`; and, on Nest 11, a CommonJS project's Jest test run with the README's ts-jest
 * configuration. Run by `npm run test:package`.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const apps = fileURLToPath(new URL('./apps', import.meta.url));
const OPTIONAL_PEERS = ['@nestjs/terminus', '@opentelemetry/', 'ioredis', 'pg'];
let work: string;
let tarball: string;
let files: string[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'nestjs-wait-pack-'));
  // prepack builds dist/ first.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = join(work, packed.filename);
  files = packed.files.map((file) => file.path).sort();
  await mkdir(join(work, 'unpacked'));
  await run('tar', ['-xzf', tarball, '-C', join(work, 'unpacked')]);
}, 300_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('publishes no internal member: what the layers call on each other is stripped from the declarations', async () => {
    const dist = join(work, 'unpacked', 'package', 'dist');
    const declared = async (file: string) => readFile(join(dist, file), 'utf8');
    const registry = await declared('polling/polling.registry.d.ts');
    // PollingRegistry declares its public verbs and fields, and nothing else: the orchestrator's
    // work (discovery, telemetry, bootstrap, Nest's shutdown hooks) is not on it. `#private` is
    // how TypeScript declares an ES private field: no name, no type.
    expect(classMembers(registry, 'PollingRegistry').sort()).toEqual(
      [
        '#private',
        'constructor',
        'events$',
        'elector',
        'add',
        'start',
        'stop',
        'remove',
        'trigger',
        'update',
        'members',
        'get',
        'has',
        'list',
        'now',
        'shutdown',
      ].sort(),
    );
    const internal = [
      'initialDelayOf',
      'claimDiscovery',
      'enableTelemetry',
      'register',
      'leaderOnly',
      'startAll',
      'registryFor',
      'orchestratorOf',
      'WaitOrchestrator',
      'onModuleDestroy',
      'beforeApplicationShutdown',
      'onApplicationShutdown',
      'LoopPlan',
      'OtelApi',
    ];
    for (const name of internal) expect(registry).not.toMatch(new RegExp(`\\b${name}\\b`));
    expect(registry).toMatch(/\badd<.*>\(name: string/);
    // Nor does any declaration the public entry points reach name the internal types.
    for (const entry of ['index', 'terminus/index', 'dashboard/index']) {
      const { texts } = await declarationsOf(join(dist, `${entry}.d.ts`));
      for (const name of ['WaitOrchestrator', 'LoopObserver', 'LoopPlan', 'OtelApi']) {
        expect(texts.filter((text) => new RegExp(`\\b${name}\\b`).test(text))).toEqual([]);
      }
    }
    const elector = await declared('leader/leader-elector.d.ts');
    for (const name of ['attach', 'detach', 'retire']) {
      expect(elector).not.toMatch(new RegExp(`\\b${name}\\(`));
    }
    expect(elector).toMatch(/\bget knownLeader\(\)/);
  });

  it('holds what runs: the compiled entry points, their declarations, README, LICENSE, CHANGELOG', () => {
    const allowed = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/.+\.(js|d\.ts))$/;
    expect(files.filter((file) => !allowed.test(file))).toEqual([]);
    for (const entry of [
      'dist/index',
      'dist/testing/index',
      'dist/terminus/index',
      'dist/dashboard/index',
      'dist/redis/index',
      'dist/postgres/index',
    ]) {
      expect(files).toContain(`${entry}.js`);
      expect(files).toContain(`${entry}.d.ts`);
    }
    expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'CHANGELOG.md']));
    expect(
      files.filter((file) => /\.map$|tsbuildinfo|^(lib|test|sample|bench)\//.test(file)),
    ).toEqual([]);
  });

  it('is clean for publint (strict) and arethetypeswrong', async () => {
    const bin = (name: string) => join(root, 'node_modules', '.bin', name);
    await expect(run(bin('publint'), ['run', tarball, '--strict'])).resolves.toBeDefined();
    // .attw.json ignores cjs-resolves-to-esm only: CommonJS apps require() it through Node's
    // require(esm), which the CommonJS apps below prove (attw predates it).
    await expect(
      run(bin('attw'), [tarball, '--format', 'ascii', '--config-path', join(root, '.attw.json')]),
    ).resolves.toBeDefined();
  }, 120_000);

  it.each(['index', 'testing/index'])(
    'the declarations of dist/%s.d.ts and everything they import name no optional peer',
    async (entry) => {
      const { seen, bare } = await declarationsOf(
        join(work, 'unpacked', 'package', 'dist', `${entry}.d.ts`),
      );
      expect(seen.size).toBeGreaterThan(3);
      expect([...bare].filter((s) => OPTIONAL_PEERS.some((peer) => s.startsWith(peer)))).toEqual(
        [],
      );
      // The walk does see bare imports: the main entry's declarations import Nest's.
      if (entry === 'index') expect([...bare]).toContain('@nestjs/common');
    },
  );
});

/** The declaration files `entry` reaches through relative imports, their text, and the bare imports. */
async function declarationsOf(
  entry: string,
): Promise<{ seen: Set<string>; bare: Set<string>; texts: string[] }> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const texts: string[] = [];
  const visit = async (file: string): Promise<void> => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = await readFile(file, 'utf8');
    texts.push(text);
    for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      if (specifier.startsWith('.')) {
        await visit(join(dirname(file), specifier.replace(/\.js$/, '.d.ts')));
      } else bare.add(specifier);
    }
  };
  await visit(entry);
  return { seen, bare, texts };
}

/** The names of the members `className` declares in a declaration file's text (an overloaded method once). */
function classMembers(text: string, className: string): string[] {
  const file = ts.createSourceFile('declared.d.ts', text, ts.ScriptTarget.Latest);
  const found = file.statements.find(
    (node): node is ts.ClassDeclaration =>
      ts.isClassDeclaration(node) && node.name?.text === className,
  );
  if (found === undefined) throw new Error(`no class ${className} declared`);
  const names = found.members.map((member) =>
    ts.isConstructorDeclaration(member) ? 'constructor' : (member.name?.getText(file) ?? '?'),
  );
  return [...new Set(names)];
}

interface Outcome {
  module: string;
  /** From the CommonJS app: Node's require(esm) is on by default (Node >= 20.19, no flag). */
  requireModule?: boolean;
  runs: number;
  state: string;
  health: { loops: { status: string; loops: Record<string, { state: string; healthy: boolean }> } };
}

/** Runs `file` in `cwd`; it must exit by itself (no timer left), with code 0 and nothing on stderr. */
function boot<T = Outcome>(cwd: string, file: string): Promise<{ outcome: T; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not exit within 30 s\n${stdout}\n${stderr}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${file} exited with ${code}\n${stdout}\n${stderr}`));
      else resolve({ outcome: JSON.parse(stdout.trim().split('\n').pop()!) as T, stderr });
    });
  });
}

describe.each([11, 12])('installed in a Nest %i app', (nest) => {
  let app: string;

  beforeAll(async () => {
    app = join(work, `nest-${nest}`);
    await mkdir(app);
    const manifest = {
      name: `nestjs-wait-nest-${nest}-app`,
      private: true,
      dependencies: {
        '@nestjs/common': `^${nest}`,
        '@nestjs/core': `^${nest}`,
        '@nestjs/platform-express': `^${nest}`,
        '@nestjs/terminus': `^${nest}`,
        'nestjs-wait': `file:${tarball}`,
        '@types/node': '^20',
        'reflect-metadata': '^0.2.0',
        rxjs: '^7',
      },
    };
    await writeFile(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
    // One install per app, from npm's cache where it can.
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: app,
      timeout: 300_000,
    });
    for (const file of [
      'boot.mjs',
      'boot.cjs',
      'dashboard.mjs',
      'types.mts',
      'types.cts',
      'boot-commonjs.ts',
    ]) {
      await copyFile(join(apps, file), join(app, file));
    }
    // The CommonJS project's Jest test: its config and tsconfig under the names Jest and ts-jest
    // look for. Jest, ts-jest and Jest's types are this repo's, linked rather than installed (an
    // install of Jest per app would take longer than the rest); they resolve their own
    // dependencies from here, and the app's test resolves nestjs-wait and Nest from the app.
    await copyFile(join(apps, 'app.test.ts'), join(app, 'app.test.ts'));
    await copyFile(join(apps, 'jest.config.cjs'), join(app, 'jest.config.js'));
    await copyFile(join(apps, 'tsconfig.app.json'), join(app, 'tsconfig.json'));
    await mkdir(join(app, 'node_modules', '@types'), { recursive: true });
    for (const name of ['ts-jest', '@types/jest']) {
      await symlink(join(root, 'node_modules', name), join(app, 'node_modules', name), 'dir');
    }
  }, 320_000);

  it('installs the Nest major asked for', async () => {
    const core = JSON.parse(
      await readFile(join(app, 'node_modules/@nestjs/core/package.json'), 'utf8'),
    ) as { version: string };
    expect(core.version.split('.')[0]).toBe(String(nest));
    // The optional peer is absent, so booting below proves the telemetry is a no-op without it.
    expect(existsSync(join(app, 'node_modules/@opentelemetry/api'))).toBe(false);
  });

  it.each(['boot.mjs', 'boot.cjs'])(
    '%s boots a module with one @Until loop, is healthy, and closes cleanly',
    async (file) => {
      const { outcome, stderr } = await boot(app, file);
      expect(outcome.module).toBe(file.endsWith('.cjs') ? 'cjs' : 'esm');
      if (file.endsWith('.cjs')) expect(outcome.requireModule).toBe(true);
      expect(outcome.runs).toBeGreaterThanOrEqual(2);
      expect(outcome.state).toBe('stopped');
      expect(outcome.health.loops.status).toBe('up');
      expect(outcome.health.loops.loops['Worker.tick']).toMatchObject({
        state: 'running',
        healthy: true,
      });
      // No warning either (require(esm) is not experimental on this Node).
      expect(stderr).toBe('');
    },
  );

  it('serves the dashboard on Express: page, state, a refused and an accepted POST, the stream; closes with it open', async () => {
    const { outcome, stderr } = await boot<Record<string, unknown>>(app, 'dashboard.mjs');
    expect(outcome).toMatchObject({
      page: 200,
      csp: true,
      html: true,
      loops: ['gc'],
      refused: 403,
      triggered: 200,
      events: ['timeline', 'state'],
    });
    expect(outcome.runs).toBeGreaterThanOrEqual(1);
    expect(outcome.closedIn).toBeLessThan(1000);
    expect(stderr).toBe('');
  });

  it('compiles a TypeScript CommonJS app with module commonjs, which boots and closes cleanly', async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--strict', '--experimentalDecorators', '--emitDecoratorMetadata'];
    await expect(
      run(
        process.execPath,
        [tsc, ...flags, '--module', 'commonjs', '--target', 'es2022', '--outDir', 'out'].concat(
          'boot-commonjs.ts',
        ),
        { cwd: app },
      ).catch((error: { stdout?: string }) => Promise.reject(new Error(error.stdout))),
    ).resolves.toBeDefined();
    const { outcome, stderr } = await boot(app, 'out/boot-commonjs.js');
    expect(outcome).toMatchObject({ module: 'cjs', state: 'stopped' });
    expect(outcome.runs).toBeGreaterThanOrEqual(2);
    expect(outcome.health.loops.loops['Worker.tick']).toMatchObject({ healthy: true });
    expect(stderr).toBe('');
  }, 120_000);

  // Nest 11 only: Nest 12's own packages are ES modules using import.meta, which no transform
  // makes CommonJS, so a Nest 12 project runs Jest as ESM (as this repo does).
  (nest === 11 ? it : it.skip)(
    "runs a CommonJS project's Jest test with the README's ts-jest configuration",
    async () => {
      const readme = await readFile(join(root, 'README.md'), 'utf8');
      const config = await readFile(join(apps, 'jest.config.cjs'), 'utf8');
      const lines = config.split('\n').filter((l) => /^\s+transform(IgnorePatterns)?:/.test(l));
      expect(lines).toHaveLength(2);
      for (const line of lines) expect(readme).toContain(line); // the README's, as it is there
      const jest = [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--no-cache'];
      const env = { ...process.env, NODE_OPTIONS: '' }; // no --experimental-vm-modules: CommonJS
      const { stderr } = await run(process.execPath, jest, { cwd: app, env }).catch(
        (error: { stderr?: string }) => Promise.reject(new Error(error.stderr)),
      );
      expect(stderr).toMatch(/Tests: +1 passed, 1 total/);
      // Without transformIgnorePatterns, Jest's require() meets nestjs-wait's ES module syntax.
      const untransformed = JSON.stringify({ transform: { '^.+\\.[tj]s$': 'ts-jest' } });
      const failed = await run(process.execPath, [...jest, '--config', untransformed], {
        cwd: app,
        env,
      }).then(
        () => '',
        (error: { stderr?: string }) => error.stderr ?? '',
      );
      expect(failed).toMatch(/Must use import to load ES Module: .*nestjs-wait/);
    },
    120_000,
  );

  it('type-checks from an ES module and from CommonJS (module nodenext)', async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--experimentalDecorators', '--emitDecoratorMetadata'];
    for (const file of ['types.mts', 'types.cts']) {
      await expect(
        run(process.execPath, [tsc, ...flags, '--module', 'nodenext', file], {
          cwd: app,
        }).catch((error: { stdout?: string }) => Promise.reject(new Error(error.stdout))),
      ).resolves.toBeDefined();
    }
  }, 120_000);
});
