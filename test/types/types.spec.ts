import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/*
 * The public types catch mistakes at compile time: each snippet below is compiled against the
 * library (the repo's tsconfig: `nestjs-wait` maps to lib/), as a module of its own, and must
 * either compile or fail with the error given. One program holds every snippet, so the compiler
 * runs once.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));

const PRELUDE = `import 'reflect-metadata';
import {
  Until, PollingRegistry, parseDuration, until, NEVER_STOP,
  type LoopContext, type LoopFn, type PollingContext,
} from 'nestjs-wait';
declare const registry: PollingRegistry;
declare const fromConfig: string;
declare function use(...values: unknown[]): void;
use(Until, registry, parseDuration, until, NEVER_STOP, fromConfig);
`;

/** `null`: must compile; a RegExp: must fail with an error matching it. */
type Expected = null | RegExp;

const METHOD = /Unable to resolve signature of method decorator/;
const PROPERTY = /Unable to resolve signature of property decorator/;
const CLASS = /Unable to resolve signature of class decorator/;
const PARAMETER = /Unable to resolve signature of parameter decorator/;

const untilCases: [string, string, Expected][] = [
  ['a method without parameters', `class A { @Until('1m') tick(): void {} }`, null],
  [
    '(ctx: LoopContext)',
    `class A { @Until('1m') tick(ctx: LoopContext): void { use(ctx); } }`,
    null,
  ],
  [
    'a destructured ({ signal }: LoopContext)',
    `class A { @Until('1m') tick({ signal }: LoopContext): void { use(signal); } }`,
    null,
  ],
  [
    '(ctx: PollingContext), whose name is a string',
    `class A { @Until('1m') tick(ctx: PollingContext): void { const n: string = ctx.name; use(n); } }`,
    null,
  ],
  [
    'an async method',
    `class A { @Until('1m') async tick({ signal }: LoopContext): Promise<void> { use(signal); } }`,
    null,
  ],
  ['a private method', `class A { @Until('1m') private tick(): void {} }`, null],
  ['a protected method', `class A { @Until('1m') protected tick(): void {} }`, null],
  ['a method returning a value', `class A { @Until('1m') tick(): number { return 1; } }`, null],
  [
    'a method with an extra optional parameter',
    `class A { @Until('1m') tick(ctx: LoopContext, extra?: number): void { use(ctx, extra); } }`,
    null,
  ],
  [
    'the three forms',
    `class A {
      @Until('5m', 0.1, false) a(): void {}
      @Until('30s', { backoff: { initial: '1s', max: '5m' } }) b(): void {}
      @Until({ period: '1h', name: 'reports' }) c(): void {}
    }`,
    null,
  ],
  [
    'a method taking a number',
    `class A { @Until('1m') tick(x: number): void { use(x); } }`,
    METHOD,
  ],
  [
    'a method with a required second parameter',
    `class A { @Until('1m') tick(a: string, b: string): void { use(a, b); } }`,
    METHOD,
  ],
  [
    'a method taking the context and a required second parameter',
    `class A { @Until('1m') tick(ctx: LoopContext, b: string): void { use(ctx, b); } }`,
    METHOD,
  ],
  ['a getter', `class A { @Until('1m') get tick(): number { return 1; } }`, METHOD],
  ['a property (a class field)', `class A { @Until('1m') tick = 1; }`, PROPERTY],
  ['an arrow function in a field', `class A { @Until('1m') tick = (): void => {}; }`, PROPERTY],
  ['a class', `@Until('1m') class A {}`, CLASS],
  ['a parameter', `class A { tick(@Until('1m') ctx: LoopContext): void { use(ctx); } }`, PARAMETER],
];

const registryCases: [string, string, Expected][] = [
  [
    'add(): ctx.name is a string',
    `registry.add('gc', (ctx) => ctx.name.toUpperCase(), { period: '1m' });`,
    null,
  ],
  [
    'add(): a function typed with LoopContext, or a LoopFn',
    `registry.add('a', (ctx: LoopContext) => ctx.iteration, { period: 1 });
     const fn: LoopFn = () => undefined;
     registry.add('b', fn, { period: 1 });`,
    null,
  ],
  [
    'add(): a function that needs another argument',
    `registry.add('gc', (n: number) => n, { period: 1 });`,
    /not assignable to parameter of type 'PollingFn'/,
  ],
  [
    "the engine's LoopContext keeps name optional",
    `until((ctx) => { const n: string = ctx.name; use(n); }, 1, NEVER_STOP);`,
    /Type 'string \| undefined' is not assignable to type 'string'/,
  ],
];

function compile(snippets: string[]): string[][] {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${root}tsconfig.json`,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
  )!;
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
  };
  const files = snippets.map((_, i) => `${root}test/types/snippet-${i + 1}.ts`);
  const sources = new Map(files.map((name, i) => [name, PRELUDE + snippets[i]]));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, onError, create) => {
    const code = sources.get(name);
    return code !== undefined
      ? ts.createSourceFile(name, code, version)
      : getSourceFile(name, version, onError, create);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => sources.has(name) || fileExists(name);
  const program = ts.createProgram(files, options, host);
  const errors = files.map((): string[] => []);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const at = d.file === undefined ? -1 : files.indexOf(d.file.fileName);
    // An error outside the snippets (in lib/) fails every case.
    if (at === -1) errors.forEach((e) => e.push(`${d.file?.fileName ?? ''}: ${text}`));
    else errors[at].push(text);
  }
  return errors;
}

const cases = [...untilCases, ...registryCases];
let results: string[][];

beforeAll(() => {
  results = compile(cases.map(([, code]) => code));
}, 120_000);

describe.each([
  ['@Until() on', untilCases, 0],
  ['PollingRegistry', registryCases, untilCases.length],
] as const)('%s', (_group, group, offset) => {
  it.each(group.map((c, i) => [c[0], c[2], offset + i] as const))(
    '%s',
    (_label, expected, index) => {
      const errors = results[index];
      if (expected === null) expect(errors).toEqual([]);
      else expect(errors.join('\n')).toMatch(expected);
    },
  );
});
