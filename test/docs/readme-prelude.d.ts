// What the README's examples take as given: the app's own services and helpers. Every example is
// compiled against these declarations by readme.spec.ts.
declare function collectGarbage(signal: AbortSignal): Promise<void>;
declare function collectImages(): Promise<void>;
declare function pollTenant(
  tenant: string,
  signal: AbortSignal,
  fencingToken: number | undefined,
): Promise<void>;
declare function fetchStatus(): Promise<'ready' | 'starting'>;
declare class ContainerRuntime {
  removeDeadContainers(options: { signal: AbortSignal }): Promise<void>;
  removeUnusedImages(options: { signal: AbortSignal }): Promise<void>;
}
declare class ReportService {
  send(options: { signal: AbortSignal }): Promise<void>;
}
/** The quick start's provider, as the testing example imports it from the app. */
declare class GarbageCollector {}
