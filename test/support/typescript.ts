import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/*
 * The TypeScript compiler on in-memory sources with the repo's own tsconfig.json (`nestjs-wait`
 * and its entry points mapped to lib/): the README's examples and the type tests compile through
 * it, and the README runner transpiles with the same options.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The compiler options of tsconfig.json. */
export function repoCompilerOptions(): ts.CompilerOptions {
  return ts.getParsedCommandLineOfConfigFile(
    `${root}tsconfig.json`,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
  )!.options;
}

/**
 * Type-checks `sources` (file name to code; files named as if they were in the repo) together
 * with `roots` on disk, unused names allowed, and returns every diagnostic.
 */
export function typeCheck(
  sources: ReadonlyMap<string, string>,
  roots: readonly string[] = [],
): readonly ts.Diagnostic[] {
  const options: ts.CompilerOptions = {
    ...repoCompilerOptions(),
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
  };
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
  const program = ts.createProgram([...sources.keys(), ...roots], options, host);
  return ts.getPreEmitDiagnostics(program);
}
