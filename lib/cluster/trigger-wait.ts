import { Deadline, type Clock } from '../wait/internal.js';
import { describe } from '../leader/leader-messages.js';
import { storeCall } from '../leader/store-call.js';
import { messages } from './cluster-messages.js';
import type { ClusterStore, LoopRun } from './cluster-store.js';
import { decodeReport } from './run-report.js';

/** A cluster-wide trigger this replica asked for, to wait on. Internal. */
export interface AskedTrigger {
  readonly store: ClusterStore;
  readonly cluster: string;
  readonly loop: string;
  readonly id: string;
  readonly clock: Clock;
  /** How long the owner has to report that it took the trigger, from when it was asked. */
  readonly bound: number;
  /** How often the store is read. */
  readonly every: number;
  /** Each read's timeout. */
  readonly timeout: number;
  /** Aborted when this replica shuts down. */
  readonly signal: AbortSignal;
}

/**
 * Resolves once the owner of the loop reports the run of trigger `id` settled (or not run: the
 * loop stopped or moved first), reading the loop's last record every `every` ms. Rejects when
 * no owner reported taking it within `bound` (none lives, or none heard of it in time: an owner
 * takes a trigger only while it is fresh, so a late one does not run it), when the owner that
 * took it is lost before the run settled, or on shutdown. The owner sends each step at once, so
 * the wait costs a read or two. Internal.
 */
export async function waitForTrigger(asked: AskedTrigger): Promise<void> {
  const { clock, loop, signal } = asked;
  const began = clock.now();
  let owner: { readonly identity: string; readonly token: number | undefined } | undefined;
  let failure: unknown = undefined;
  let read = began;
  for (;;) {
    await sleep(clock, asked.every, signal, loop);
    let run: LoopRun | undefined;
    try {
      const call = () => asked.store.loopRuns(asked.cluster, [loop], { timeout: asked.timeout });
      [run] = await storeCall(call, 'loopRuns', asked.timeout, clock, signal);
      failure = undefined;
      read = clock.now();
    } catch (error) {
      if (signal.aborted) throw new Error(messages.triggerShutdown(loop));
      failure = error;
      if (owner !== undefined) {
        // Taken, then the store out of reach as long as an owner has to take it: given up on.
        if (clock.now() - read >= asked.bound) {
          throw new Error(messages.triggerUnread(loop, asked.bound, describe(error)));
        }
        continue;
      }
    }
    const report = decodeReport(run?.report);
    const mine = report?.triggers?.find((t) => t.id === asked.id);
    if (run !== undefined && mine !== undefined) {
      if (mine.state === 'settled' || mine.state === 'skipped') return;
      // The owner that took it, which the live claim may no longer name: the loop moved before
      // the run, and the next owner never runs it.
      owner ??= report?.takenBy ?? { identity: run.owner ?? '?', token: run.token };
      if (run.owner === undefined || run.token !== owner.token) {
        throw new Error(messages.triggerOwnerLost(loop, owner.identity));
      }
    } else if (owner !== undefined) {
      // Taken, then gone from the record: newer triggers of the same owner pushed it out (their
      // runs came after its), or another owner's record replaced the lost one's.
      if (run?.owner === owner.identity && run.token === owner.token) return;
      throw new Error(messages.triggerOwnerLost(loop, owner.identity));
    } else if (clock.now() - began >= asked.bound) {
      const why = failure === undefined ? undefined : describe(failure);
      throw new Error(messages.triggerNotTaken(loop, asked.bound, why));
    }
  }
}

function sleep(clock: Clock, ms: number, signal: AbortSignal, loop: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error(messages.triggerShutdown(loop)));
    const aborted = (): void => {
      deadline.cancel();
      reject(new Error(messages.triggerShutdown(loop)));
    };
    const deadline = new Deadline(clock, () => {
      signal.removeEventListener('abort', aborted);
      resolve();
    });
    signal.addEventListener('abort', aborted, { once: true });
    deadline.after(ms);
  });
}
