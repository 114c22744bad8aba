import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';

/**
 * This package's own directory (`dist/` once installed, `lib/` in this repo) in both spellings a
 * stack frame may use (a path, or a `file://` URL for ES modules): the frames of its files say
 * nothing about why a run failed, only that a loop called it, so logged stacks leave them out.
 * Read from this module's own frame rather than `import.meta.url`, which a CommonJS Jest setup
 * (ts-jest compiling the package to CommonJS) cannot compile. Empty if stacks are turned off.
 */
const OWN = ((): string[] => {
  const frame = new Error().stack
    ?.split('\n')
    .find((line) => /run-failure\.formatter\.[cm]?[jt]s/.test(line));
  const found =
    frame &&
    /((?:file:\/\/)?[^\s()]*?)[\\/]polling[\\/]run-failure\.formatter\.[cm]?[jt]s/.exec(frame);
  if (!found) return [];
  const dir = found[1];
  try {
    return dir.startsWith('file://')
      ? [`${dir}/`, `${fileURLToPath(dir)}/`]
      : [`${dir}/`, `${pathToFileURL(dir).href}/`];
  } catch {
    return [`${dir}/`];
  }
})();

/** How much of a thrown value is shown: deep enough for a `cause` chain, bounded for a log line. */
const INSPECT = { depth: 4, breakLength: 120, maxArrayLength: 20, maxStringLength: 2000 } as const;

/** The longest repeat line's error summary, in characters. */
const SUMMARY_LENGTH = 300;

/**
 * What a failed run threw, as `util.inspect` shows it: an Error's stack with its own properties
 * (`code`, ...) and its `cause` chain, a non-Error's content (`{ code: 'E_OBJ' }`), without the
 * frames of this package.
 */
export function describeThrown(error: unknown): string {
  return inspect(error, INSPECT)
    .split('\n')
    .filter((line) => !isOwnFrame(line))
    .join('\n');
}

function isOwnFrame(line: string): boolean {
  return /^\s+at /.test(line) && OWN.some((dir) => line.includes(dir));
}

/**
 * What identifies an error between two failures: its name and message for an Error (a stack
 * differs with every call path, which is no new information), its content otherwise.
 */
export function summarize(error: unknown): string {
  const text =
    error instanceof Error
      ? `${error.name}: ${error.message}`
      : inspect(error, { ...INSPECT, depth: 2, breakLength: Infinity });
  return text.length > SUMMARY_LENGTH ? `${text.slice(0, SUMMARY_LENGTH - 1)}…` : text;
}

/**
 * Which failures of a loop get their full detail logged: the first of a streak of consecutive
 * failures, and each whose error differs from the one before it. The others are one line with
 * the count, so a loop failing every second for an hour of outage logs one stack, not 3,600.
 */
export class FailureLog<Loop extends object> {
  private readonly last = new WeakMap<Loop, string>();

  /** The error's summary when it repeats the loop's previous failure; `undefined`: log in full. */
  repeated(loop: Loop, error: unknown, consecutiveFailures: number): string | undefined {
    const summary = summarize(error);
    const before = this.last.get(loop);
    this.last.set(loop, summary);
    return consecutiveFailures > 1 && before === summary ? summary : undefined;
  }
}
