import { show } from '../wait/internal.js';

/**
 * Where a message of the Nest layer says the problem is, when it is more than an API's name
 * (`'PollingRegistry.add()'`): a decorated method, a parameter, an override. Internal.
 */
export const places = {
  until: (owner: string) => `@Until() on ${owner}`,
  untilOnClass: (owner: string) => `@Until() on class ${owner}`,
  /** `method` undefined: a parameter of the constructor. */
  untilOnParameter: (index: number, owner: string, method: string | undefined) =>
    `@Until() on the parameter at index ${index} of ${method === undefined ? `the constructor of ${owner}` : `${owner}.${method}`}`,
  override: (name: string) => `WaitModule options.loops[${JSON.stringify(name)}]`,
} as const;

/** What `@Until()` was put on instead of an instance method, as {@link messages.notAMethod} says it. */
export const misplaced = {
  class: 'a class',
  parameter: 'a parameter',
  staticProperty: 'a static property',
  field: 'a property (a class field)',
  staticMethod: 'a static method',
  accessor: 'an accessor (get/set)',
  notAFunction: 'not a function',
} as const;

/**
 * Every message of the Nest layer (errors and logs), in one place so that each names the class,
 * method or loop and the value the same way. Internal: not exported from the package.
 */
export const messages = {
  notAMethod: (where: string, kind: string) =>
    `${where}: @Until() decorates instance methods; this is ${kind}. Put it on a method of the class, which receives the loop's context: @Until('1m') collect(ctx: PollingContext) {}`,
  noOthers: (where: string) =>
    `${where}: with an options object as the first argument, there are no others`,
  noThird: (where: string) => `${where}: with options as the second argument, there is no third`,
  decoratedTwice: (where: string) =>
    `${where}: the method has @Until() twice; one method is one loop`,
  boolean: (where: string, what: string, value: unknown) =>
    `${where}: ${what} must be true or false; got ${show(value)}`,
  name: (where: string, value: unknown) =>
    `${where}: the loop's name must be a non-empty string; got ${show(value)}`,
  oneOf: (where: string, what: string, value: unknown, allowed: readonly string[]) =>
    `${where}: ${what} must be one of ${allowed.map((a) => show(a)).join(', ')}; got ${show(value)}`,
  scoped: (owner: string, scope: string) =>
    `@Until() on ${owner}: ${owner.split('.')[0]} is ${scope}, but a loop needs one instance for the life of the app; make it a singleton (the default scope) or move the loop to a singleton provider`,
  duplicateName: (name: string, first: string, second: string) =>
    `two loops are named ${show(name)} (${first} and ${second}); give one another name with @Until(period, { name })`,
  bootstrap: (problems: readonly string[]) =>
    `WaitModule cannot start its loops:\n  - ${problems.join('\n  - ')}`,
  unknownLoop: (where: string, name: unknown) => `${where}: no loop is named ${show(name)}`,
  badOverrides: (name: string, error: unknown) =>
    `Loop ${show(name)}: the cluster-wide overrides in the store do not apply to this version of it (${error instanceof Error ? error.message : String(error)}); it keeps its own settings`,
  clusterViewFailed: (where: string, error: string) =>
    `${where}: could not read the cluster's view of the loops from the store (${error})`,
  controlFailed: (where: string, name: string, error: string) =>
    `${where}: could not change loop ${show(name)} cluster-wide (${error}); nothing was changed`,
  backoffMax: (where: string, name: string | undefined, initial: number, max: number) =>
    `${where}${name === undefined ? '' : ` (loop ${show(name)})`}: backoff.max (${max} ms) is less than backoff.initial (${initial} ms); the wait after a failure grows from initial up to max`,
  bigJitter: (where: string, name: string | undefined, jitter: number) =>
    `${where}${name === undefined ? '' : ` (loop ${show(name)})`}: jitter ${jitter} adds up to ${jitter * 100}% of the period; a jitter factor is a fraction (0.1 for up to 10%)`,
  timeoutZero: (where: string) =>
    `${where}: timeout must be more than 0 ms (a run that awaits anything takes longer); leave it out for no timeout`,
  timedOut: (name: string, timeout: number) =>
    `Loop ${name} passed its timeout of ${timeout} ms: its ctx.signal is aborted; the run counts as failed, and the next one waits until it settles`,
  twoNames: (where: string, name: string, other: unknown) =>
    `${where}: the loop is named ${show(name)} but its options say name ${show(other)}; give the name once, as the first argument`,
  taken: (where: string, name: string) => `${where}: a loop named ${show(name)} exists already`,
  closed: (where: string) => `${where}: the application is shutting down; loops no longer start`,
  importedTwice: () =>
    'WaitModule.forRoot() is imported more than once; every loop still runs once, with the options of the first import',
  unknownOverride: (name: string, known: readonly string[]) =>
    `options.loops names ${show(name)}, but no loop has that name (loops: ${known.map((k) => show(k)).join(', ') || 'none'})`,
  failed: (name: string, count: number) =>
    `Loop ${name} failed (${count === 1 ? 'once' : `${count} times in a row`})`,
  failedAgain: (name: string, count: number, summary: string) =>
    `Loop ${name} failed (${count} times in a row), the same error as before: ${summary}`,
  subscriberThrew: (type: string | undefined, name: string | undefined, summary: string) =>
    `An events$ subscriber threw${type === undefined ? '' : ` on the ${show(type)} event of loop ${show(name)}`}; the loops and the other subscribers go on: ${summary}`,
  recovered: (name: string, count: number) =>
    `Loop ${name} succeeded after ${count === 1 ? '1 failure' : `${count} failures`}`,
  succeeded: (name: string, iteration: number) => `Loop ${name} succeeded (run ${iteration})`,
  shuttingDown: () => 'The application is shutting down',
  shutDown: (loops: number, waited: number) =>
    `Shutdown: stopped ${loops === 1 ? '1 loop' : `${loops} loops`}${waited > 0 ? `, after ${waited === 1 ? '1 run' : `${waited} runs`} in flight settled` : ''}`,
  stillRunning: (names: readonly string[], timeout: number) =>
    `Shutdown: ${names.join(', ')} still running ${timeout} ms after the stop signal; not waiting any longer`,
} as const;
