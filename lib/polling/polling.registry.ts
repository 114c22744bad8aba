import {
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { LeaderElector } from '../leader/leader-elector.js';
import { messages as leaderMessages } from '../leader/leader-messages.js';
import { epochOf } from '../wait/clock.js';
import type { CheckedOptions } from '../wait/duration.js';
import type { LoopFn } from '../wait/loop.js';
import { ManagedLoop } from './loop/managed-loop.js';
import type { LoopHost, ManagedLoopObserver } from './loop/loop-settings.js';
import { settleWithin } from '../wait/settle-within.js';
import { checkFunction } from '../wait/validate.js';
import { LoopTelemetry } from '../telemetry/loop-telemetry.js';
import { loadOtelApi, type OtelApi } from '../telemetry/otel-api.js';
import { describeThrown, FailureLog, summarize } from './failure-log.js';
import { LoopEvents } from './loop-events.js';
import type { LoopChanges, LoopEvent, LoopStatus, PollingFn } from './polling.interfaces.js';
import { messages } from './polling.messages.js';
import {
  checkChanges,
  planDefinition,
  type LoopDefinition,
  type LoopPlan,
} from './until.options.js';
import {
  checkModuleOptions,
  type CheckedWaitModuleOptions,
  type WaitModuleOptions,
} from './wait-module.options.js';

const registries = new WeakMap<object, PollingRegistry>();

/** `run()`'s promise, or a rejection with what it threw: a promise API never throws. */
function rejecting(run: () => Promise<void>): Promise<void> {
  try {
    return run();
  } catch (error) {
    // What the registry throws is always an Error; passed on as it is.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(error);
  }
}

/**
 * The loops of the application, by name: list them, add your own, start, stop, trigger and
 * re-time them while the app runs. Injectable anywhere once `WaitModule` is imported. Every loop
 * runs on the engine's loop core (never two runs of one loop at once); a run's error is logged
 * with the loop's name and the consecutive-failure count, and the loop goes on.
 *
 * Calls naming an unknown loop fail naming it: the synchronous ones throw, the ones returning a
 * promise (`stop`, `remove`, `trigger`) reject, as Node's own APIs do.
 */
export class PollingRegistry
  implements OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown
{
  /** Runs started, succeeded and failed, and loops stopped; completes when the app has shut down. */
  readonly events$: Observable<LoopEvent>;
  /** The replica's leader elector when `leaderElection` is set; leader-only loops follow it. */
  readonly elector: LeaderElector | undefined;
  private readonly options: CheckedWaitModuleOptions;
  private readonly loops = new Map<string, ManagedLoop>();
  /** Loops that start with the app (`autoStart`), until it has bootstrapped. */
  private readonly startWithApp = new Set<ManagedLoop>();
  private readonly logger = new Logger('WaitModule');
  private readonly events = new LoopEvents((error, event) =>
    this.safely(() =>
      this.logger.error(
        messages.subscriberThrew(event?.type, event?.name, summarize(error)),
        describeThrown(error),
      ),
    ),
  );
  private readonly failureLog = new FailureLog<ManagedLoop>();
  private bootstrapped = false;
  private closing: Promise<void> | undefined = undefined;
  private claimed = false;
  private telemetry: LoopTelemetry | undefined = undefined;
  private host: LoopHost | undefined = undefined;

  /** @param options - the module's options (see `WaitModuleOptions` for defaults). */
  constructor(options?: WaitModuleOptions) {
    this.options = checkModuleOptions(options, 'WaitModule options');
    this.events$ = this.events.stream;
    const { leaderElection, clock } = this.options;
    this.elector =
      leaderElection === undefined
        ? undefined
        : new LeaderElector(leaderElection, { clock, logger: new Logger('LeaderElection') });
  }

  /**
   * Adds a loop and, unless `autoStart: false` (or the module's), starts it once the app has
   * bootstrapped (at once if it has; never once shutdown has begun). Throws if the name is taken
   * or an option is bad. Each run of `fn` gets a `PollingContext`: `ctx.name` is `name`.
   */
  add<const D extends LoopDefinition>(
    name: string,
    fn: PollingFn,
    definition: CheckedOptions<D, LoopDefinition>,
  ): LoopStatus {
    const where = 'PollingRegistry.add()';
    if (typeof name !== 'string' || name.length === 0)
      throw new TypeError(messages.name(where, name));
    checkFunction(fn, where, 'fn');
    const named = (definition as { name?: unknown } | undefined)?.name;
    if (named !== undefined && named !== name)
      throw new TypeError(messages.twoNames(where, name, named));
    // Its literals were checked at compile time; everything is checked again here.
    const plan = planDefinition({ ...(definition as LoopDefinition), name }, where);
    // A managed loop's contexts always carry its name (PollingContext).
    this.register(name, fn as LoopFn, plan, where);
    if (
      this.bootstrapped &&
      this.closing === undefined &&
      plan.autoStart &&
      this.options.autoStart
    ) {
      this.loops.get(name)!.start();
    }
    return this.get(name);
  }

  /** Starts a stopped loop (first run after its `initialDelay`); does nothing if it runs. */
  start(name: string): void {
    const loop = this.find(name, 'PollingRegistry.start()');
    if (this.closing !== undefined) throw new Error(messages.closed('PollingRegistry.start()'));
    loop.start();
  }

  /** Stops a loop: aborts its `ctx.signal`, resolves once its run in flight settled. Idempotent. */
  stop(name: string): Promise<void> {
    return rejecting(() => this.find(name, 'PollingRegistry.stop()').stop());
  }

  /** Stops a loop and forgets it (its name is free again at once); resolves as {@link stop}. */
  remove(name: string): Promise<void> {
    return rejecting(() => {
      const loop = this.find(name, 'PollingRegistry.remove()');
      this.loops.delete(name);
      this.startWithApp.delete(loop);
      this.elector?.detach(loop);
      return loop.stop();
    });
  }

  /**
   * Runs an iteration now, after the one in flight (calls made meanwhile share one run), also on
   * a stopped loop. Resolves when it has settled; its error is logged and kept in the status, not
   * thrown here. Resolves without a run if the loop is stopped before the run starts.
   */
  trigger(name: string): Promise<void> {
    return rejecting(() => {
      const loop = this.find(name, 'PollingRegistry.trigger()');
      if (this.closing !== undefined) throw new Error(messages.closed('PollingRegistry.trigger()'));
      return loop.trigger();
    });
  }

  /**
   * Re-times a loop (see {@link LoopChanges} for when each change applies); a new period applies
   * to the wait in progress, counted from where it started. Bad changes throw and change nothing.
   */
  update<const C extends LoopChanges>(name: string, changes: CheckedOptions<C, LoopChanges>): void {
    const where = 'PollingRegistry.update()';
    const loop = this.find(name, where);
    const checked = checkChanges(changes as LoopChanges, where, name);
    const current = loop.settings;
    loop.update({
      period: checked.period ?? current.period,
      jitter: checked.jitter ?? current.jitter,
      sliding: checked.sliding ?? current.sliding,
      initialDelay: checked.initialDelay ?? current.initialDelay,
      backoff: checked.backoff === undefined ? current.backoff : (checked.backoff ?? undefined),
      timeout: checked.timeout === undefined ? current.timeout : (checked.timeout ?? undefined),
    });
  }

  /** The status of one loop. */
  get(name: string): LoopStatus {
    return this.status(this.find(name, 'PollingRegistry.get()'));
  }

  /** The registry's clock now, as a `Date` (a `FakeClock`'s time in tests). */
  now(): Date {
    return new Date(epochOf(this.options.clock, this.options.clock.now()));
  }

  /** @internal The health indicator's: a loop's initial delay, in milliseconds. */
  initialDelayOf(name: string): number {
    return this.find(name, 'PollingRegistry.initialDelayOf()').settings.initialDelay;
  }

  /** Whether a loop has this name. */
  has(name: string): boolean {
    return this.loops.has(name);
  }

  /** The status of every loop, in the order they were added. */
  list(): LoopStatus[] {
    return [...this.loops.values()].map((loop) => this.status(loop));
  }

  /**
   * @internal The explorer's: the first caller per app discovers the decorated methods; a second
   * `WaitModule` import gets false and a warning instead of running every loop twice.
   */
  claimDiscovery(): boolean {
    if (!this.claimed) return (this.claimed = true);
    this.logger.warn(messages.importedTwice());
    return false;
  }

  /**
   * @internal `WaitModule`'s, before any loop is registered: loads `@opentelemetry/api` when the
   * options ask for metrics or tracing and it is installed. `load` is for tests.
   */
  async enableTelemetry(
    load: () => Promise<OtelApi | undefined> = () => loadOtelApi(),
  ): Promise<void> {
    const { metrics, tracing, clock } = this.options;
    if ((!metrics && !tracing) || this.telemetry !== undefined) return;
    const api = await load();
    if (api === undefined || this.telemetry !== undefined) return;
    const source = { clock, leadership: this.elector, loops: () => this.loops.values() };
    const telemetry = new LoopTelemetry(api, source, { metrics, tracing });
    if (telemetry.active) this.telemetry = telemetry;
  }

  /** @internal The explorer's: adds a discovered loop, not started. */
  register(name: string, fn: LoopFn, plan: LoopPlan, where: string): void {
    if (this.loops.has(name)) throw new Error(messages.taken(where, name));
    const leaderOnly = this.leaderOnly(plan, where);
    const { clock } = this.options;
    const gate = leaderOnly ? this.elector : undefined;
    const run = this.telemetry?.wrap(name, fn) ?? fn;
    this.host ??= { clock, random: Math.random, observer: this.observer };
    const loop = new ManagedLoop(name, run, plan, this.host, gate);
    gate?.attach(loop);
    this.loops.set(name, loop);
    if (plan.autoStart && !this.bootstrapped) this.startWithApp.add(loop);
  }

  /**
   * @internal Whether a loop with `plan` runs on the leader only; throws naming `where` when it
   * asks for that without leader election.
   */
  leaderOnly(plan: LoopPlan, where: string): boolean {
    if (plan.leaderOnly === true && this.elector === undefined) {
      throw new Error(leaderMessages.leaderOnlyWithout(where));
    }
    return plan.leaderOnly ?? this.elector !== undefined;
  }

  /** @internal The explorer's, at bootstrap: starts every loop that starts with the app. */
  startAll(): void {
    this.bootstrapped = true;
    if (this.closing === undefined) this.elector?.start();
    if (this.options.autoStart && this.closing === undefined) {
      for (const loop of this.startWithApp) loop.start();
    }
    this.startWithApp.clear();
  }

  /**
   * Aborts every loop's signal and waits up to `shutdownTimeout` for the runs in flight, naming in
   * a warning those still running then. Idempotent; `WaitModule` calls it on its shutdown hook.
   */
  shutdown(): Promise<void> {
    return (this.closing ??= this.close());
  }

  /** Nest's hook: stops the loops if `shutdownHook` names it. */
  onModuleDestroy(): Promise<void> | undefined {
    return this.onHook('onModuleDestroy');
  }

  /** Nest's hook: stops the loops if `shutdownHook` names it. */
  beforeApplicationShutdown(): Promise<void> | undefined {
    return this.onHook('beforeApplicationShutdown');
  }

  /** Nest's hook: stops the loops if `shutdownHook` names it (the default). */
  onApplicationShutdown(): Promise<void> | undefined {
    return this.onHook('onApplicationShutdown');
  }

  private onHook(hook: CheckedWaitModuleOptions['shutdownHook']): Promise<void> | undefined {
    return this.options.shutdownHook === hook ? this.shutdown() : undefined;
  }

  private async close(): Promise<void> {
    const loops = [...this.loops.values()];
    // One reason for every loop: Node builds a DOMException (with its stack) per abort() called
    // without one, and that was a third of the time to stop 100,000 loops.
    const reason = new DOMException('The application is shutting down', 'AbortError');
    const { shutdownTimeout, clock } = this.options;
    const began = clock.now();
    this.elector?.retire();
    const stopped = Promise.all(loops.map((loop) => loop.stop(reason)));
    const inFlight = loops.filter((loop) => loop.inFlight).length;
    const settled = await settleWithin(stopped, shutdownTimeout, clock);
    if (settled) {
      if (loops.length > 0) this.logger.log(messages.shutDown(loops.length, inFlight));
    } else {
      const late = loops.filter((loop) => loop.inFlight).map((loop) => loop.name);
      this.logger.warn(messages.stillRunning(late, shutdownTimeout));
    }
    const elector = this.elector;
    if (elector !== undefined) {
      // Released only once no run is left: a successor must not overlap a run still in flight.
      // Loops that run on every replica do not hold the lease back.
      const release = this.options.leaderElection?.releaseOnShutdown ?? true;
      const held = loops.filter((loop) => loop.gate !== undefined && loop.inFlight);
      const names = held.map((loop) => loop.name);
      if (release && held.length > 0)
        this.logger.warn(leaderMessages.notReleased(elector.name, names));
      // What is left of shutdownTimeout (at least the retry period) bounds the release.
      const left = began + shutdownTimeout - clock.now();
      await elector.stop(release && held.length === 0, left);
    }
    this.telemetry?.close();
    this.events.complete();
  }

  private find(name: string, where: string): ManagedLoop {
    const loop = this.loops.get(name);
    if (loop === undefined) throw new Error(messages.unknownLoop(where, name));
    return loop;
  }

  private status(loop: ManagedLoop): LoopStatus {
    const { period, jitter, sliding } = loop.settings;
    return {
      name: loop.name,
      state: loop.state,
      period,
      jitter,
      sliding,
      iterations: loop.iterations,
      failures: loop.failures,
      consecutiveFailures: loop.consecutiveFailures,
      inFlight: loop.inFlight,
      runningSince: this.date(loop.runningSince),
      lastStartedAt: this.date(loop.lastStartedAt),
      lastSucceededAt: this.date(loop.lastSucceededAt),
      lastError: loop.lastError,
      nextRunAt: this.date(loop.nextRunAt),
    };
  }

  private date(time: number | undefined): Date | undefined {
    return time === undefined ? undefined : new Date(epochOf(this.options.clock, time));
  }

  private emit(type: LoopEvent['type'], loop: ManagedLoop, error?: unknown): void {
    if (!this.events.observed) return; // no event objects for nobody
    const { name, iterations, consecutiveFailures } = loop;
    const at = new Date(epochOf(this.options.clock, this.options.clock.now()));
    const event: LoopEvent = { type, name, iteration: iterations, consecutiveFailures, at };
    if (type === 'failed') event.error = error;
    this.events.emit(event);
  }

  /**
   * The registry's side of every loop: logs and events. A throwing logger or events$ subscriber
   * must not end a loop, so nothing thrown here reaches the loop core.
   */
  private readonly observer: ManagedLoopObserver = {
    runStarted: (loop) => this.safely(() => this.emit('started', loop)),
    runSucceeded: (loop, failuresBefore) =>
      this.safely(() => {
        if (failuresBefore > 0) this.logger.log(messages.recovered(loop.name, failuresBefore));
        // Checked first: a routine success is every run, and Logger.verbose() costs even when off.
        else if (Logger.isLevelEnabled('verbose')) {
          this.logger.verbose(messages.succeeded(loop.name, loop.iterations));
        }
        this.telemetry?.runEnded(loop, 'success');
        this.emit('succeeded', loop);
      }),
    runFailed: (loop, error) =>
      this.safely(() => {
        const count = loop.consecutiveFailures;
        const repeated = this.failureLog.repeated(loop, error, count);
        if (repeated === undefined) {
          this.logger.error(messages.failed(loop.name, count), describeThrown(error));
        } else this.logger.error(messages.failedAgain(loop.name, count, repeated));
        this.telemetry?.runEnded(loop, 'failure');
        this.emit('failed', loop, error);
      }),
    stopped: (loop) => this.safely(() => this.emit('stopped', loop)),
    runTimedOut: (loop, timeout) =>
      this.safely(() => this.logger.warn(messages.timedOut(loop.name, timeout))),
  };

  private safely(report: () => void): void {
    try {
      report();
    } catch {
      // Nowhere left to report it: the logger or a subscriber is what failed.
    }
  }
}

/**
 * @internal One registry per application, whatever the number of `WaitModule` imports (Nest 11+
 * keys dynamic modules by reference, so two `forRoot()` calls make two modules). The key is the
 * app's `ModulesContainer`; the options of the first import win.
 */
export function registryFor(
  container: object,
  options: WaitModuleOptions | undefined,
): PollingRegistry {
  let registry = registries.get(container);
  if (registry === undefined) {
    registry = new PollingRegistry(options);
    registries.set(container, registry);
  }
  return registry;
}
