import type { Logger } from '@nestjs/common';
import type { LeaderElector } from '../leader/leader-elector.js';
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

/**
 * The shutdown of an application's loops: aborts every loop's signal, waits up to
 * `shutdownTimeout` for the runs in flight (naming in a warning those still running then), then
 * stops the elector. The lease is released only once no leader-only run is left, since a
 * successor must not overlap a run still in flight; loops that run on every replica do not hold
 * it back. What is left of `shutdownTimeout` (at least the retry period) bounds the release.
 * Internal.
 */
export async function shutDown(
  loops: readonly ManagedLoop[],
  elector: LeaderElector | undefined,
  { shutdownTimeout, clock, release }: ShutdownSettings,
  logger: Logger,
): Promise<void> {
  // One abort reason shared by every loop (see bench/PERF-NOTES.md).
  const reason = new DOMException(messages.shuttingDown(), 'AbortError');
  const began = clock.now();
  elector?.retire();
  const stopped = Promise.all(loops.map((loop) => loop.stop(reason)));
  const inFlight = loops.filter((loop) => loop.inFlight).length;
  const settled = await settleWithin(stopped, shutdownTimeout, clock);
  if (settled) {
    if (loops.length > 0) logger.log(messages.shutDown(loops.length, inFlight));
  } else {
    const late = loops.filter((loop) => loop.inFlight).map((loop) => loop.name);
    logger.warn(messages.stillRunning(late, shutdownTimeout));
  }
  if (elector === undefined) return;
  const held = loops.filter((loop) => loop.gate !== undefined && loop.inFlight);
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
