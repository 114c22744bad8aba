import { readFile } from 'node:fs/promises';
import ts from 'typescript';
import { typeCheck } from '../support/typescript.js';
import { readmeBlocks, root, type Block } from './readme-blocks.js';

/*
 * Every TypeScript example of the README compiles against the library (the repo's tsconfig:
 * `nestjs-wait` and its entry points map to lib/). Each ```ts block is a module of its own;
 * test/docs/readme-prelude.d.ts declares the app's own services they take as given.
 * readme-run.spec.ts runs each of them.
 */

function compile(examples: Block[]): string[] {
  const files = new Map(examples.map((b, i) => [`${root}test/docs/readme-${i + 1}.ts`, b]));
  const sources = new Map([...files].map(([name, block]) => [name, block.code]));
  const diagnostics = typeCheck(sources, [`${root}test/docs/readme-prelude.d.ts`]);
  return diagnostics.map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const block = d.file ? files.get(d.file.fileName) : undefined;
    if (d.file === undefined || d.start === undefined) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return block !== undefined
      ? `README.md:${block.line + line}: ${text}`
      : `${d.file.fileName}:${line + 1}: ${text}`;
  });
}

it('every ```ts example of the README compiles', async () => {
  const examples = await readmeBlocks();
  expect(examples.length).toBeGreaterThanOrEqual(8);
  expect(compile(examples)).toEqual([]);
}, 120_000);

it('a broken example would be caught (the check is not vacuous)', () => {
  const broken = compile([
    { line: 1, heading: '', code: "import { Until } from 'nestjs-wait';\nUntil(42, 'x');" },
  ]);
  expect(broken.join('\n')).toMatch(/README\.md:2: /);
}, 120_000);

it("has the manual's sections", async () => {
  const readme = await readFile(`${root}README.md`, 'utf8');
  const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  expect(headings).toEqual(
    expect.arrayContaining([
      'Install',
      'Quick start',
      '`@Until`',
      'Sliding, non-sliding and jitter',
      '`WaitModule`',
      '`PollingRegistry`',
      'Testing with `FakeClock`',
      'Health checks (Terminus)',
      'Metrics and traces (OpenTelemetry)',
      'Leader election',
      'The engine',
      'Performance',
      'Compared with `@nestjs/schedule` and `toad-scheduler`',
      "Coming from `@nestjs/schedule`'s `@Interval`",
      'Compatibility',
      'License',
    ]),
  );
  expect(readme).toContain('### Shutdown, and which hook to pick');
});
