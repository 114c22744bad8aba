import type { Logger } from '@nestjs/common';
import type { LeaderElector } from '../leader/leader-elector.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import { LeaderLoopGate, ownershipOf } from '../cluster/leader-loop-gate.js';
import { messages as leaderMessages } from '../leader/leader-messages.js';
import { type Clock, settleWithin } from '../wait/internal.js';
import type { ManagedLoop } from './loop/managed-loop.js';
import { messages } from './polling.messages.js';

/** What {@link shutDown} needs of the module's options. Internal. */
export interface ShutdownSettings {
  /** How long to wait for runs in flight, in milliseconds. */
  readonly shutdownTimeout: number;
  readonly clock: Clock;
  /** Whether to release the lease (`leaderElection.releaseOnShutdown`). */
  readonly release: boolean;
}

/** The cluster's parts of a replica, each `undefined` when not in use. Internal. */
export interface ClusterParts {
  readonly elector: LeaderElector | undefined;
  readonly node: ClusterNode | undefined;
}

/**
 * The shutdown of an application's loops: aborts every loop's signal, waits up to
 * `shutdownTimeout` for the runs in flight (naming in a warning those still running then), then
 * leaves the cluster (one call frees every spread and leader loop, which the others claim at once)
 * and stops the elector. The lease, and a spread loop, is released only once no run of it is
 * left, since a successor must not overlap a run still in flight; loops that run on every
 * replica do not hold it back. What is left of `shutdownTimeout` (at least the retry period)
 * bounds the release. Internal.
 */
export async function shutDown(
  loops: readonly ManagedLoop[],
  { elector, node }: ClusterParts,
  { shutdownTimeout, clock, release }: ShutdownSettings,
  logger: Logger,
): Promise<void> {
  // One abort reason shared by every loop (see bench/PERF-NOTES.md).
  const reason = new DOMException(messages.shuttingDown(), 'AbortError');
  const began = clock.now();
  elector?.retire();
  node?.retire();
  const stopped = Promise.all(loops.map((loop) => loop.stop(reason)));
  const inFlight = loops.filter((loop) => loop.inFlight).length;
  const settled = await settleWithin(stopped, shutdownTimeout, clock);
  if (settled) {
    if (loops.length > 0) logger.log(messages.shutDown(loops.length, inFlight));
  } else {
    const late = loops.filter((loop) => loop.inFlight).map((loop) => loop.name);
    logger.warn(messages.stillRunning(late, shutdownTimeout));
  }
  if (node !== undefined) {
    const owned = loops.filter((loop) => ownershipOf(loop.gate) !== undefined && loop.inFlight);
    await node.stop(release && owned.length === 0, began + shutdownTimeout - clock.now());
  }
  if (elector === undefined) return;
  const held = loops.filter(
    (loop) => (loop.gate === elector || loop.gate instanceof LeaderLoopGate) && loop.inFlight,
  );
  if (release && held.length > 0) {
    logger.warn(
      leaderMessages.notReleased(
        elector.name,
        held.map((loop) => loop.name),
      ),
    );
  }
  const left = began + shutdownTimeout - clock.now();
  await elector.stop(release && held.length === 0, left);
}
