import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { typeCheck } from '../support/typescript.js';

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
  type Duration, type DurationString, type LoopContext, type LoopFn, type PollingContext,
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
    '@Until and add(): ctx.fencingToken is a number or undefined',
    `class A { @Until('1m') tick(ctx: PollingContext): void { const t: number | undefined = ctx.fencingToken; use(t); } }
     registry.add('gc', (ctx) => use(ctx.fencingToken), { period: 1 });`,
    null,
  ],
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
    "the engine's LoopContext has no name",
    `until((ctx) => { const n: string = ctx.name; use(n); }, 1, NEVER_STOP);`,
    /Property 'name' does not exist on type 'LoopContext'/,
  ],
  [
    "the engine's LoopContext has no fencingToken",
    `until((ctx) => use(ctx.fencingToken), 1, NEVER_STOP);`,
    /Property 'fencingToken' does not exist on type 'LoopContext'/,
  ],
];

/*
 * The configuration types are derived from one base, UntilOptions: a definition is options and a
 * period, an override a partial definition and `disabled`, changes its timing fields or `null`.
 */
const CONFIG = `import type { UntilOptions, LoopDefinition, LoopOverride, LoopChanges } from 'nestjs-wait';\n`;
const configurationCases: [string, string, Expected][] = [
  [
    'a LoopDefinition is UntilOptions with a period; an override and changes derive from it',
    `${CONFIG}const d: LoopDefinition = { period: '1m', jitter: 0.1, backoff: { initial: '1s', max: '1m' } };
     const o: UntilOptions = d;
     const v: LoopOverride = { ...d, disabled: true };
     const p: LoopOverride = { jitter: 0.2 };
     const c: LoopChanges = { period: d.period, sliding: false, backoff: null, timeout: null };
     registry.update('a', c);
     registry.update('a', { backoff: null, timeout: null });
     use(o, v, p);`,
    null,
  ],
  [
    'a LoopDefinition needs its period',
    `${CONFIG}const d: LoopDefinition = { jitter: 0.1 }; use(d);`,
    /Property 'period' is missing/,
  ],
  [
    'changes hold timing fields only',
    `${CONFIG}const c: LoopChanges = { name: 'other' }; use(c);`,
    /'name' does not exist in type/,
  ],
  [
    'update() refuses a field that is not a change',
    `registry.update('a', { autoStart: false });`,
    /'autoStart' does not exist in type/,
  ],
];

const NOT_A_DURATION = /is not assignable to (parameter of )?type 'DurationString'/;
const ok = (code: string): [string, string, Expected] => [code, code, null];
const bad = (code: string, error: RegExp = NOT_A_DURATION): [string, string, Expected] => [
  code,
  code,
  error,
];

/*
 * Duration literals are checked where they are written (a DurationString), while a `string` typed
 * wide (configuration: process.env, ConfigService.get<string>()) passes to the run-time checks.
 */
const durationCases: [string, string, Expected][] = [
  ok(
    `const d: DurationString[] = ['0', '250ms', '1.5s', '1m30s', '1h30m', '1h2m3s', '.5s', '1m30.5s'];`,
  ),
  ok(`const d: DurationString[] = ['1ns', '1us', '1µs', '1μs', '2h', '10m', '100s'];`),
  bad(`const d: DurationString = '5';`),
  bad(`const d: DurationString = '1 h';`),
  bad(`const d: DurationString = '1h 30m';`),
  bad(`const d: DurationString = ' 1h';`),
  bad(`const d: DurationString = '1h ';`),
  bad(`const d: DurationString = '1x';`),
  bad(`const d: DurationString = '';`),
  ok(`class A { @Until(fromConfig) a(): void {} @Until({ period: fromConfig }) b(): void {} }`),
  ok(`class A { @Until(process.env.GC_PERIOD ?? '1m') a(): void {} }`),
  ok(`declare const d: Duration; class A { @Until(d, { initialDelay: d }) a(): void {} }`),
  ok(`class A { @Until(250) a(): void {} @Until('1m', { initialDelay: '2s' }) b(): void {} }`),
  bad(`class A { @Until('5') a(): void {} }`, /No overload matches this call[^]*'DurationString'/),
  bad(
    `class A { @Until('1 h') a(): void {} }`,
    /No overload matches this call[^]*'DurationString'/,
  ),
  bad(`class A { @Until('1m', { initialDelay: '5' }) a(): void {} }`),
  bad(`class A { @Until({ period: '1 h' }) a(): void {} }`),
  bad(`class A { @Until({ period: '1m', backoff: { initial: '5', max: '1m' } }) a(): void {} }`),
  bad(
    `class A { @Until({ period: '1m', jiter: 0.1 }) a(): void {} }`,
    /'number' is not assignable to type 'never'/,
  ),
  bad(`class A { @Until('1m', { jiter: 0.1 }) a(): void {} }`, /No overload matches this call/),
  bad(
    `class A { @Until({ period: 1, backoff: { inital: '1s', max: '1m' } }) a(): void {} }`,
    /'inital' does not exist/,
  ),
  ok(
    `registry.add('a', () => 1, { period: fromConfig, initialDelay: '2s', backoff: { initial: 1, max: '1m' } });`,
  ),
  ok(`registry.update('a', { period: '5m' }); registry.update('a', { period: fromConfig });`),
  bad(`registry.add('a', () => 1, { period: '5' });`),
  bad(`registry.update('a', { period: '1 h' });`),
  ok(`parseDuration('1m30s'); parseDuration(fromConfig); parseDuration(5);`),
  bad(`parseDuration('5');`),
  ok(`void until(() => 1, '1s', NEVER_STOP); void until(() => 1, fromConfig, NEVER_STOP);`),
  bad(`void until(() => 1, '1 h', NEVER_STOP);`),
];

function compile(snippets: string[]): string[][] {
  const files = snippets.map((_, i) => `${root}test/types/snippet-${i + 1}.ts`);
  const sources = new Map(files.map((name, i) => [name, PRELUDE + snippets[i]]));
  const errors = files.map((): string[] => []);
  for (const d of typeCheck(sources)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const at = d.file === undefined ? -1 : files.indexOf(d.file.fileName);
    // An error outside the snippets (in lib/) fails every case.
    if (at === -1) errors.forEach((e) => e.push(`${d.file?.fileName ?? ''}: ${text}`));
    else errors[at].push(text);
  }
  return errors;
}

const cases = [...untilCases, ...registryCases, ...durationCases, ...configurationCases];
let results: string[][];

beforeAll(() => {
  results = compile(cases.map(([, code]) => code));
}, 120_000);

describe.each([
  ['@Until() on', untilCases, 0],
  ['PollingRegistry', registryCases, untilCases.length],
  ['durations', durationCases, untilCases.length + registryCases.length],
  [
    'configuration types',
    configurationCases,
    untilCases.length + registryCases.length + durationCases.length,
  ],
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
