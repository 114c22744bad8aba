/*
 * What the README's examples take as given (readme-prelude.d.ts declares it for the type-check),
 * at run time: stand-ins for the app's own services that record each call, so that a runner can
 * tell which example code ran. `install()` puts them on globalThis, where an example's free
 * identifiers (`ContainerRuntime`, `collectGarbage`, ...) find them; `GarbageCollector` is the
 * quick start's class, installed by readme-run.spec.ts once that block is loaded.
 */

/** Every call made to a stand-in, by name, in order. */
export const calls: string[] = [];

function record(name: string, signal?: AbortSignal): Promise<void> {
  // The examples pass their loop's signal on; a stand-in that got none is an example's mistake.
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return Promise.reject(new TypeError(`${name}: signal is not an AbortSignal`));
  }
  calls.push(name);
  return Promise.resolve();
}

class ContainerRuntime {
  removeDeadContainers({ signal }: { signal: AbortSignal }): Promise<void> {
    return record('removeDeadContainers', signal);
  }
  removeUnusedImages({ signal }: { signal: AbortSignal }): Promise<void> {
    return record('removeUnusedImages', signal);
  }
}

class ReportService {
  send({ signal }: { signal: AbortSignal }): Promise<void> {
    return record('send', signal);
  }
}

/** `fetchStatus()` answers `'starting'` this many times, then `'ready'`. */
export const status = { startingFor: 1 };

export function install(): void {
  Object.assign(globalThis, {
    ContainerRuntime,
    ReportService,
    collectGarbage: (signal: AbortSignal) => record('collectGarbage', signal),
    collectImages: () => record('collectImages'),
    pollTenant: (tenant: string, signal: AbortSignal, token: number | undefined) =>
      typeof token === 'number'
        ? record(`pollTenant:${tenant}`, signal)
        : Promise.reject(new TypeError('no fencing token')),
    fetchStatus: async (): Promise<'ready' | 'starting'> => {
      await record('fetchStatus');
      return calls.filter((c) => c === 'fetchStatus').length > status.startingFor
        ? 'ready'
        : 'starting';
    },
  });
}

/** Forgets the calls recorded so far. */
export function reset(): void {
  calls.length = 0;
  status.startingFor = 1;
}
