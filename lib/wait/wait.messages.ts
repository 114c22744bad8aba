/**
 * Every error message of the engine, in one place so that each names the call and the value the
 * same way. Internal: not exported from the package.
 */

/** Renders a received value for an error message: strings quoted, everything else as JS shows it. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
  if (typeof value === 'object' && value !== null) {
    return `an object (${value.constructor?.name ?? 'null prototype'})`;
  }
  return String(value);
}

/** The message builders, by error. */
export const messages = {
  unknownKey: (where: string, key: string, known: readonly string[]) =>
    `${where}: unknown option ${show(key)}; the options are ${known.join(', ')}`,
  durationType: (where: string, what: string, value: unknown) =>
    `${where}: ${what} must be a number of milliseconds or a duration string like '250ms' or '1m30s'; got ${show(value)}`,
  durationRange: (where: string, what: string, value: unknown) =>
    `${where}: ${what} must be a finite duration >= 0; got ${show(value)}`,
  durationSyntax: (where: string, what: string, value: string, why: string) =>
    `${where}: ${what} ${show(value)} is not a duration (${why}); write a number and a unit (ns, us, ms, s, m, h) like '250ms' or '1m30s'`,
  durationSpaces: (where: string, what: string, value: string, fixed: string) =>
    `${where}: ${what} ${show(value)} is not a duration (spaces are not allowed inside one); write ${show(fixed)}`,
  number: (where: string, what: string, value: unknown) =>
    `${where}: ${what} must be a finite number; got ${show(value)}`,
  nonNegative: (where: string, what: string, value: unknown) =>
    `${where}: ${what} must be a finite number >= 0; got ${show(value)}`,
  integer: (where: string, what: string, value: unknown) =>
    `${where}: ${what} must be an integer; got ${show(value)}`,
  func: (where: string, what: string, value: unknown) =>
    `${where}: ${what} must be a function; got ${show(value)}`,
  signal: (where: string, value: unknown) =>
    `${where}: the stop signal must be an AbortSignal (use NEVER_STOP to run forever); got ${show(value)}`,
  clock: (where: string, value: unknown) =>
    `${where}: clock must implement now(), setTimeout() and clearTimeout(); got ${show(value)}`,
  object: (where: string, what: string, value: unknown) =>
    `${where}: ${what} must be an object; got ${show(value)}`,
  backoffManager: (where: string, value: unknown) =>
    `${where}: backoff must be a BackoffManager with a backoff() method; got ${show(value)}`,
  badWait: (where: string, value: unknown) =>
    `${where}: the backoff manager returned ${show(value)} as the next wait; expected a finite number of milliseconds >= 0`,
  timeout: () => 'timed out waiting for the condition',
  runTimeout: (name: string, timeout: number) =>
    `Loop ${name}: the run took longer than its timeout of ${timeout} ms; its ctx.signal was aborted`,
} as const;
