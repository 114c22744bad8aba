import {
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { LeaderElector } from '../leader/leader-elector.js';
import { messages as leaderMessages } from '../leader/leader-messages.js';
import { InMemoryLeaseStore } from '../leader/memory-lease-store.js';
import type { LeaseStore } from '../leader/lease-store.js';
import { ClusterNode } from '../cluster/cluster-node.js';
import { messages as clusterMessages } from '../cluster/cluster-messages.js';
import type { Placement } from '../cluster/cluster-options.js';
import { isClusterStore } from '../cluster/cluster-store.js';
import { LoopOwnership } from '../cluster/loop-ownership.js';
import { LeaderLoopGate, ownershipOf } from '../cluster/leader-loop-gate.js';
import type { LoopStatus, MemberStatus, PollingFn } from './polling.interfaces.js';
import { clusterStatusOf, dateOf, reportOf, statusOf } from './loop-status.mapper.js';
import { ManagedLoop } from './loop/managed-loop.js';
import type { LoopGate, LoopHost, LoopSettings } from './loop/loop-settings.js';
import { LoopTelemetry } from '../telemetry/loop-telemetry.js';
import { loadOtelApi, type OtelApi } from '../telemetry/otel-api.js';
import { LoopObserver } from './loop.observer.js';
import { followControl } from './loop-control.applier.js';
import { describe } from '../leader/leader-messages.js';
import type { ControlChange } from '../cluster/cluster-store.js';
import { messages } from './polling.messages.js';
import { shutDown } from './wait.shutdown.js';
import type { LoopPlan } from './until-options.checker.js';
import {
  checkModuleOptions,
  type CheckedWaitModuleOptions,
  type ShutdownHook,
  type WaitModuleOptions,
} from './wait-module.options.js';

/**
 * What runs the loops of one application behind `PollingRegistry` (nestjs/schedule's
 * `SchedulerOrchestrator`): the loops by name, the leader elector's lifecycle, telemetry, the
 * hand-off from discovery, bootstrap, and shutdown on the configured Nest hook. Internal: not
 * exported from any index; the module, the explorer, the registry and the health indicator use it.
 */
export class WaitOrchestrator
  implements OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown
{
  /** The module's options, checked, with their defaults. */
  readonly options: CheckedWaitModuleOptions;
  /** The replica's leader elector when `cluster` is set; `'leader'` loops follow it. */
  readonly elector: LeaderElector | undefined;
  /** Where the cluster's leases live (the elector's and the members'). */
  private readonly store: LeaseStore | undefined;
  /**
   * This replica as a member of the cluster, made with the first `'spread'` loop, or the first
   * `'leader'` loop on a cluster store (the leader claims its loops to keep their cadence).
   */
  private node: ClusterNode | undefined = undefined;
  /** Logs, telemetry and events of every run. */
  readonly observer: LoopObserver;
  private readonly byName = new Map<string, ManagedLoop>();
  /** Loops that start with the app (`autoStart`), until it has bootstrapped. */
  private readonly startWithApp = new Set<ManagedLoop>();
  private readonly logger = new Logger('WaitModule');
  private bootstrapped = false;
  private closing: Promise<void> | undefined = undefined;
  private claimed = false;
  /** What every loop shares (one object, not three fields a loop). */
  private host: LoopHost | undefined = undefined;

  /** @param options - the module's options (see `WaitModuleOptions` for defaults). */
  constructor(options?: WaitModuleOptions) {
    this.options = checkModuleOptions(options, 'WaitModule options');
    const { leaderElection, clock } = this.options;
    this.observer = new LoopObserver(clock);
    // One store for the elector and the member lease: the in-memory default must be shared.
    this.store = leaderElection && (leaderElection.store ?? new InMemoryLeaseStore(clock));
    this.elector =
      leaderElection === undefined
        ? undefined
        : new LeaderElector(
            { ...leaderElection, store: this.store },
            { clock, logger: new Logger('LeaderElection') },
          );
  }

  /** This replica's cluster member, once a `'spread'` loop was added. */
  get clusterNode(): ClusterNode | undefined {
    return this.node;
  }

  /** Every loop by name, in the order they were added. */
  get loops(): ReadonlyMap<string, ManagedLoop> {
    return this.byName;
  }

  /** Whether shutdown has begun: loops no longer start, triggers are refused. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** The telemetry runs are recorded in; `undefined` while none records. */
  get telemetry(): LoopTelemetry | undefined {
    return this.observer.telemetry;
  }

  /**
   * The explorer's: the first caller per app discovers the decorated methods; a second
   * `WaitModule` import gets false and a warning instead of running every loop twice.
   */
  claimDiscovery(): boolean {
    if (!this.claimed) return (this.claimed = true);
    this.logger.warn(messages.importedTwice());
    return false;
  }

  /**
   * `WaitModule`'s, before any loop is registered: loads `@opentelemetry/api` when the options
   * ask for metrics or tracing and it is installed. `load` is for tests.
   */
  async enableTelemetry(
    load: () => Promise<OtelApi | undefined> = () => loadOtelApi(),
  ): Promise<void> {
    const { metrics, tracing, clock } = this.options;
    if ((!metrics && !tracing) || this.telemetry !== undefined) return;
    const api = await load();
    if (api === undefined || this.telemetry !== undefined) return;
    const source = { clock, leadership: this.elector, loops: () => this.byName.values() };
    const telemetry = new LoopTelemetry(api, source, { metrics, tracing });
    if (telemetry.active) this.observer.telemetry = telemetry;
  }

  /**
   * Adds a loop; throws naming `where` if the name is taken or it is leader-only without leader
   * election. With `autoStart`, it starts with the app, or at once once the app has bootstrapped
   * (never once shutdown has begun, nor with the module's `autoStart: false`).
   */
  register(name: string, fn: PollingFn, plan: LoopPlan, where: string): void {
    if (this.byName.has(name)) throw new Error(messages.taken(where, name));
    const placement = this.placementOf(plan, where);
    const owned = placement === 'spread' || (placement === 'leader' && isClusterStore(this.store!));
    const ownership = owned ? this.member().add(name, placement) : undefined;
    let gate: LoopGate | undefined = ownership;
    if (placement === 'leader') {
      gate = ownership === undefined ? this.elector : new LeaderLoopGate(this.elector!, ownership);
    }
    const run = this.telemetry?.wrap(name, fn) ?? fn;
    this.host ??= { clock: this.options.clock, random: Math.random, observer: this.observer };
    const { period, jitter, sliding, initialDelay, backoff, timeout } = plan;
    // The settings alone: the plan's other fields would stay with every loop.
    const settings: LoopSettings = { period, jitter, sliding, initialDelay, backoff, timeout };
    const loop = new ManagedLoop(name, run, settings, this.host, gate);
    if (placement === 'leader') this.elector!.attach(loop);
    if (ownership !== undefined) {
      ownership.loop = loop;
      ownership.reporter = (now) => reportOf(loop, now);
      const follow = followControl(loop, ownership, this.logger, () => this.closed);
      const held = this.node!.controlOf(name);
      if (held !== undefined) follow(held);
    }
    this.byName.set(name, loop);
    if (!plan.autoStart) return;
    if (!this.bootstrapped) this.startWithApp.add(loop);
    else if (this.closing === undefined && this.options.autoStart) loop.start();
  }

  /**
   * Where a loop with `plan` runs; throws naming `where` when it asks for `'leader'` or
   * `'spread'` without `cluster`, or `'spread'` on a store without the cluster calls.
   */
  placementOf(plan: LoopPlan, where: string): Placement {
    const cluster = this.options.cluster;
    const placement = plan.placement ?? cluster?.placement ?? 'every';
    if (placement === 'leader' && cluster === undefined) {
      throw new Error(leaderMessages.leaderOnlyWithout(where));
    }
    if (placement === 'spread') {
      if (cluster === undefined) throw new Error(clusterMessages.without(where, placement));
      if (!isClusterStore(this.store!)) {
        throw new Error(clusterMessages.notClusterStore(where, this.store));
      }
    }
    return placement;
  }

  /**
   * Keeps a stop, start or update of a spread or leader loop in the store, for the whole
   * cluster (see `ClusterNode.control`); `false` for a loop that runs on its own here (an
   * `'every'` loop, or a leader loop on a store without the cluster calls). Throws naming
   * `where` once shutdown has begun; rejects naming `where` and the loop if the store did not
   * take it.
   */
  control(
    loop: ManagedLoop,
    change: ControlChange['state'] | LoopChangesText,
    where: string,
  ): Promise<void> | false {
    const ownership = ownershipOf(loop.gate);
    if (ownership === undefined || this.node === undefined) return false;
    if (this.closing !== undefined) throw new Error(messages.closed(where));
    const by = this.options.leaderElection!.identity;
    const full: ControlChange =
      typeof change === 'object' ? { by, overrides: change.json } : { by, state: change };
    return this.node.control(loop.name, full).catch((error: unknown) => {
      throw new Error(messages.controlFailed(where, loop.name, describe(error)), { cause: error });
    });
  }

  /**
   * Runs a spread or leader loop this replica does not own on its owner (see
   * `ClusterNode.trigger`); `false` for a loop that runs here (an `'every'` loop, a leader loop
   * on a store without the cluster calls, a loop owned here). Rejects at once, naming `where`,
   * for a loop paused cluster-wide (on its owner too), and as the node does otherwise.
   */
  triggerRemote(loop: ManagedLoop, where: string): Promise<void> | false {
    const ownership = ownershipOf(loop.gate);
    const node = this.node;
    if (ownership === undefined || node === undefined) return false;
    // Paused, no replica runs it, its owner included: refused alike wherever it was asked.
    if (ownership.paused !== undefined) {
      const error = new Error(
        `${where}: ${clusterMessages.triggerPaused(loop.name, ownership.paused.by)}`,
      );
      return Promise.reject(error);
    }
    if (ownership.state === 'owned') return false;
    return node.trigger(loop.name).catch((error: unknown) => {
      throw new Error(`${where}: ${describe(error)}`, { cause: error });
    });
  }

  /**
   * The status of each of `loops` as the cluster sees it: a spread or leader loop another
   * replica runs (or none does) from the store, in one call for all of them; the others as this
   * replica sees them. Rejects naming `where` if the store does not answer in the renew deadline.
   */
  async clusterStatuses(loops: readonly ManagedLoop[], where: string): Promise<LoopStatus[]> {
    const { clock } = this.options;
    const local = loops.map((loop) => statusOf(loop, clock, this.placed(loop)));
    const node = this.node;
    // A loop with a claim in the store that this replica does not hold: its owner knows more.
    const remote = new Set(loops.filter((l) => !ownsHere(l) && ownershipOf(l.gate) !== undefined));
    if (node === undefined || remote.size === 0) return local;
    let runs;
    try {
      runs = await node.loopRuns([...remote].map((l) => l.name));
    } catch (error) {
      throw new Error(messages.clusterViewFailed(where, describe(error)), { cause: error });
    }
    const at = clock.now();
    const byName = new Map(runs.map((r) => [r.loop, r]));
    return local.map((status, i) =>
      remote.has(loops[i]) ? clusterStatusOf(status, byName.get(status.name), clock, at) : status,
    );
  }

  /** The live members of the cluster as this replica last heard from the store; none without one. */
  members(): MemberStatus[] {
    const node = this.node;
    if (node === undefined) return [];
    const { clock } = this.options;
    const counts = node.placedCounts();
    const leader = this.elector?.knownLeader;
    const at = node.membersAt;
    return node.members.map((m) => ({
      identity: m.identity,
      since: dateOf(clock, at - m.age)!,
      renewedAt: dateOf(clock, at - m.renewedAgo)!,
      loops: counts.get(m.identity) ?? 0,
      leader: m.identity === leader,
      self: m.identity === node.identity,
    }));
  }

  /** Where a loop runs, who runs it as far as this replica knows, and whether it is paused. */
  placed(loop: ManagedLoop): {
    placement: Placement;
    owner: string | undefined;
    paused: LoopOwnership['paused'];
  } {
    const gate = loop.gate;
    const paused = ownershipOf(loop.gate)?.paused;
    if (gate === undefined) return { placement: 'every', owner: undefined, paused };
    if (gate instanceof LoopOwnership) return { placement: 'spread', owner: gate.owner, paused };
    // A leader loop is placed on the leader, whichever replica holds its claim this instant.
    return { placement: 'leader', owner: this.elector?.knownLeader, paused };
  }

  private member(): ClusterNode {
    if (this.node === undefined) {
      const { clock } = this.options;
      const store = this.store;
      if (store === undefined || !isClusterStore(store)) throw new Error('unreachable');
      this.node = new ClusterNode(
        this.options.leaderElection!,
        store,
        clock,
        new Logger('Cluster'),
        this.elector,
      );
      // Told of each change of leadership, as the leader's loops are.
      this.elector!.attach(this.node);
      if (this.bootstrapped && this.closing === undefined) this.node.start();
    }
    return this.node;
  }

  /** The explorer's, at bootstrap: starts the elector and every loop that starts with the app. */
  startAll(): void {
    this.bootstrapped = true;
    if (this.closing === undefined) {
      this.elector?.start();
      this.node?.start();
    }
    if (this.options.autoStart && this.closing === undefined) {
      for (const loop of this.startWithApp) loop.start();
    }
    this.startWithApp.clear();
  }

  /** The loop named `name`; throws naming `where` if there is none. */
  find(name: string, where: string): ManagedLoop {
    const loop = this.byName.get(name);
    if (loop === undefined) throw new Error(messages.unknownLoop(where, name));
    return loop;
  }

  /** Forgets a loop (its name is free again at once) and stops it; resolves once it settled. */
  remove(name: string, where: string): Promise<void> {
    const loop = this.find(name, where);
    this.byName.delete(name);
    this.startWithApp.delete(loop);
    this.elector?.detach(loop);
    const stopped = loop.stop();
    if (ownershipOf(loop.gate) === undefined) return stopped;
    return stopped.then(() => this.node!.remove(name));
  }

  /** The health indicator's: a loop's initial delay, in milliseconds; throws as {@link find}. */
  initialDelayOf(name: string, where: string): number {
    return this.find(name, where).settings.initialDelay;
  }

  /** Stops every loop and the elector (see `PollingRegistry.shutdown`). Idempotent. */
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

  private onHook(hook: ShutdownHook): Promise<void> | undefined {
    return this.options.shutdownHook === hook ? this.shutdown() : undefined;
  }

  private async close(): Promise<void> {
    const { shutdownTimeout, clock, leaderElection } = this.options;
    const release = leaderElection?.releaseOnShutdown ?? true;
    const loops = [...this.byName.values()];
    const parts = { elector: this.elector, node: this.node };
    await shutDown(loops, parts, { shutdownTimeout, clock, release }, this.logger);
    this.telemetry?.close();
    this.observer.complete();
  }
}

/** Whether this replica holds the loop's claim in the store: its own status is the freshest. */
function ownsHere(loop: ManagedLoop): boolean {
  return ownershipOf(loop.gate)?.state === 'owned';
}

/** The changes of an `update()`, checked, as JSON text: what the store keeps. Internal. */
export interface LoopChangesText {
  readonly json: string;
}
