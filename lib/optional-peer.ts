/**
 * The one loader of optional peers (`ioredis`, `pg`, `@opentelemetry/api`): each is imported only
 * when a feature first needs it, so the entry points that do not use it never load it. Internal.
 */

/** What {@link importOptional} found: the module, or the error that says it is not installed. */
export type OptionalPeer<T> = { found: true; module: T } | { found: false; missing: unknown };

/**
 * Imports `name`; `{ missing }` (the loader's error) when it is not installed. Any other error
 * loading it (a broken install, a syntax error) is thrown.
 */
export async function importOptional<T>(name: string): Promise<OptionalPeer<T>> {
  try {
    return { found: true, module: (await import(name)) as T };
  } catch (error) {
    if (isNotFound(error)) return { found: false, missing: error };
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return true;
  // Jest's ES-module loader reports a missing module without Node's code.
  return error instanceof Error && /Cannot find module/.test(error.message);
}
