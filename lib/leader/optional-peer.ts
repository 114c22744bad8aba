/**
 * Loads an optional peer (`ioredis`, `pg`) when a store first needs it, so that the package's
 * other entry points never load it, and a missing one is reported with the install command
 * instead of a bare module-not-found error. Internal.
 */
export async function loadPeer<T>(name: string, user: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(`${user} needs the "${name}" package: npm install ${name}`, { cause: error });
    }
    throw error;
  }
}
