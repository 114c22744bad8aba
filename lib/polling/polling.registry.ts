import type { Observable } from 'rxjs';
import type { LeaderElector } from '../leader/leader-elector.js';
import { type CheckedOptions, checkFunction } from '../wait/internal.js';
import { nowOf, statusOf } from './loop-status.mapper.js';
import type {
  LoopEvent,
  LoopStatus,
  MemberStatus,
  PollingFn,
  StatusOptions,
} from './polling.interfaces.js';
import { messages } from './polling.messages.js';
import { planChanges, planDefinition } from './until-options.checker.js';
import type { LoopChanges, LoopDefinition } from './until.options.js';
import { WaitOrchestrator } from './wait.orchestrator.js';
import type { WaitModuleOptions } from './wait-module.options.js';

/** `run()`'s promise, or a rejection with what it threw: a promise API never throws. */
function rejecting<T = void>(run: () => Promise<T>): Promise<T> {
  try {
    return run();
  } catch (error) {
    // What the registry throws is always an Error; passed on as it is.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(error);
  }
}

/** Set by the class's static block: the orchestrator of a registry (see {@link orchestratorOf}). */
let orchestratorOfRegistry: (registry: PollingRegistry) => WaitOrchestrator;

/**
 * The loops of the application, by name: list them, add your own, start, stop, trigger and
 * re-time them while the app runs. Injectable anywhere once `WaitModule` is imported. Every loop
 * runs on the engine's loop core (never two runs of one loop at once); a run's error is logged
 * with the loop's name and the consecutive-failure count, and the loop goes on.
 *
 * Calls naming an unknown loop fail naming it: the synchronous ones throw, the ones returning a
 * promise (`stop`, `remove`, `trigger`) reject, as Node's own APIs do.
 */
export class PollingRegistry {
  /** Runs started, succeeded and failed, and loops stopped; completes when the app has shut down. */
  readonly events$: Observable<LoopEvent>;
  /** The replica's leader elector when `leaderElection` is set; leader-only loops follow it. */
  readonly elector: LeaderElector | undefined;
  readonly #orchestrator: WaitOrchestrator;

  static {
    // The static-block idiom for a module-internal accessor to a private field: the module and
    // the health indicator reach the orchestrator, users of the class do not.
    orchestratorOfRegistry = (registry) => registry.#orchestrator;
  }

  /** @param options - the module's options (see `WaitModuleOptions` for defaults). */
  constructor(options?: WaitModuleOptions) {
    const orchestrator = new WaitOrchestrator(options);
    this.#orchestrator = orchestrator;
    this.events$ = orchestrator.observer.events$;
    this.elector = orchestrator.elector;
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
    this.#orchestrator.register(name, fn, plan, where);
    return this.get(name);
  }

  /**
   * Starts a stopped loop (first run after its `initialDelay`); does nothing if it runs. A
   * `'spread'` or `'leader'` loop on a cluster store is started cluster-wide: the start is kept
   * in the store, and whichever replica owns it runs it (a pause ends). Throws for an unknown
   * loop or once shutdown has begun; the promise resolves once the start is in force and
   * rejects, having changed nothing, if the store did not take it within the renew deadline.
   */
  start(name: string): Promise<void> {
    const where = 'PollingRegistry.start()';
    const orchestrator = this.#orchestrator;
    const loop = orchestrator.find(name, where);
    if (orchestrator.closed) throw new Error(messages.closed(where));
    const stored = orchestrator.control(loop, 'started', where);
    if (stored !== false) return stored;
    loop.start();
    return Promise.resolve();
  }

  /**
   * Stops a loop: aborts its `ctx.signal`, resolves once its run in flight settled. Idempotent.
   * A `'spread'` or `'leader'` loop on a cluster store is paused cluster-wide: the pause is kept
   * in the store (through failovers and restarts) until `start()` on any replica, its status
   * says `'paused'`, and its owner aborts its run within a heartbeat; rejects, having changed
   * nothing, if the store did not take the pause, or once shutdown has begun.
   */
  stop(name: string): Promise<void> {
    return rejecting(() => {
      const where = 'PollingRegistry.stop()';
      const loop = this.#orchestrator.find(name, where);
      const stored = this.#orchestrator.control(loop, 'paused', where);
      return stored === false ? loop.stop() : stored.then(() => loop.idle());
    });
  }

  /** Stops a loop and forgets it (its name is free again at once); resolves as {@link stop}. */
  remove(name: string): Promise<void> {
    return rejecting(() => this.#orchestrator.remove(name, 'PollingRegistry.remove()'));
  }

  /**
   * Runs an iteration now, after the one in flight (calls made meanwhile share one run), also on
   * a stopped loop. Resolves when it has settled; its error is logged and kept in the status, not
   * thrown here. Resolves without a run if the loop is stopped before the run starts.
   *
   * A `'spread'` or `'leader'` loop on a cluster store that another replica owns is run there:
   * the trigger is kept in the store, the owner runs it once, and the promise resolves when that
   * run has settled (its outcome in `list({ cluster: true })`). It rejects, naming the loop: at
   * once if the loop is paused cluster-wide; within the renew deadline if the store did not take
   * the trigger (nothing was asked); within the lease duration if no live owner took it (it did
   * not run); when that owner is lost before the run settled; and on shutdown.
   */
  trigger(name: string): Promise<void> {
    return rejecting(() => {
      const where = 'PollingRegistry.trigger()';
      const loop = this.#orchestrator.find(name, where);
      if (this.#orchestrator.closed) throw new Error(messages.closed(where));
      const remote = this.#orchestrator.triggerRemote(loop, where);
      return remote === false ? loop.trigger() : remote;
    });
  }

  /**
   * Re-times a loop (see {@link LoopChanges} for when each change applies); a new period applies
   * to the wait in progress, counted from where it started. Bad changes throw and change nothing.
   * A `'spread'` or `'leader'` loop on a cluster store is re-timed cluster-wide: the changes are
   * kept in the store, merged with earlier ones, and every replica (and every later owner)
   * applies them; the promise resolves once they are stored and rejects, having changed
   * nothing, if the store did not take them.
   */
  update<const C extends LoopChanges>(
    name: string,
    changes: CheckedOptions<C, LoopChanges>,
  ): Promise<void> {
    const where = 'PollingRegistry.update()';
    const orchestrator = this.#orchestrator;
    const loop = orchestrator.find(name, where);
    const settings = planChanges(loop.settings, changes as LoopChanges, where, name);
    const stored = orchestrator.control(loop, { json: JSON.stringify(changes) }, where);
    if (stored !== false) return stored;
    loop.update(settings);
    return Promise.resolve();
  }

  /**
   * The live replicas of the cluster (identity, since when, last renewal, loops placed on each,
   * the leader), as this replica last heard from the store: none without `cluster`, or before
   * its first spread or leader loop.
   */
  members(): MemberStatus[] {
    return this.#orchestrator.members();
  }

  /** The status of one loop, as this replica sees it; throws for an unknown loop. */
  get(name: string): LoopStatus;
  /**
   * With `{ cluster: true }`: the status of one loop as the cluster sees it (see
   * {@link StatusOptions}); rejects for an unknown loop.
   */
  get(name: string, options: StatusOptions & { cluster: true }): Promise<LoopStatus>;
  get(name: string, options?: StatusOptions): LoopStatus | Promise<LoopStatus> {
    const where = 'PollingRegistry.get()';
    const orchestrator = this.#orchestrator;
    if (options?.cluster === true) {
      return rejecting<LoopStatus>(async () => {
        const loop = orchestrator.find(name, where);
        const [status] = await orchestrator.clusterStatuses([loop], where);
        return status;
      });
    }
    const loop = orchestrator.find(name, where);
    return statusOf(loop, orchestrator.options.clock, orchestrator.placed(loop));
  }

  /** Whether a loop has this name. */
  has(name: string): boolean {
    return this.#orchestrator.loops.has(name);
  }

  /** The status of every loop, in the order they were added, as this replica sees it. */
  list(): LoopStatus[];
  /**
   * With `{ cluster: true }`: the status of every loop as the cluster sees it (see
   * {@link StatusOptions}): one store call whatever the number of loops.
   */
  list(options: StatusOptions & { cluster: true }): Promise<LoopStatus[]>;
  list(options?: StatusOptions): LoopStatus[] | Promise<LoopStatus[]> {
    const orchestrator = this.#orchestrator;
    if (options?.cluster === true) {
      return orchestrator.clusterStatuses(
        [...orchestrator.loops.values()],
        'PollingRegistry.list()',
      );
    }
    const { clock } = orchestrator.options;
    return [...orchestrator.loops.values()].map((loop) =>
      statusOf(loop, clock, orchestrator.placed(loop)),
    );
  }

  /** The registry's clock now, as a `Date` (a `FakeClock`'s time in tests). */
  now(): Date {
    return nowOf(this.#orchestrator.options.clock);
  }

  /**
   * Aborts every loop's signal and waits up to `shutdownTimeout` for the runs in flight, naming in
   * a warning those still running then. Idempotent; `WaitModule` calls it on its shutdown hook.
   */
  shutdown(): Promise<void> {
    return this.#orchestrator.shutdown();
  }
}

/**
 * @internal The orchestrator behind `registry`, for the module and the health indicator; throws
 * a `TypeError` for an object that is not a `PollingRegistry`.
 */
export function orchestratorOf(registry: PollingRegistry): WaitOrchestrator {
  return orchestratorOfRegistry(registry);
}
