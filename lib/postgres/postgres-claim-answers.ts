import type { LastRun, LoopRun } from '../cluster/cluster-store.js';
import { lastRunOf } from './postgres-cluster-values.js';

/*
 * How a claim's answer reads (see ClaimStatements.claim): a verdict per loop from the
 * statement's snapshot, and the rows the statement wrote; and how a loop-runs answer reads
 * (ClaimStatements.loopRuns). Internal.
 */

/** A duration in ms, or NULL. */
type Ago = number | null;
/** A claim's verdict from the snapshot: [verdict, owner, token, startedAgo, endedAgo]. */
export type Planned = ['dead' | 'free' | 'mine' | 'held', string | null, number | null, Ago, Ago];
/** A loop's row as a claim wrote it: [loop, claimed, owner, token, startedAgo, endedAgo]. */
export type Written = [string, boolean, string | null, number, Ago, Ago];

/**
 * A loop's row as loopRuns answers it: [loop, owner, token, startedAgo, endedAgo, report,
 * recordedAgo], owner and token NULL without a live session.
 */
export type Recorded = [string, string | null, number | null, Ago, Ago, string | null, Ago];

/** A claim's result without its loop's name. */
export type Outcome =
  | { readonly claimed: true; readonly token: number; readonly lastRun: LastRun | undefined }
  | { readonly claimed: false; readonly owner: string | undefined };

/** One loop's claim: from the row the claim wrote if it wrote one, else from its verdict. */
export function claimOutcome(
  [verdict, owner, token, startedAgo, endedAgo]: Planned,
  written: Written | undefined,
): Outcome {
  if (written !== undefined) {
    const [, claimed, writtenOwner, writtenToken, writtenStart, writtenEnd] = written;
    if (claimed) {
      return { claimed, token: writtenToken, lastRun: lastRunOf(writtenStart, writtenEnd) };
    }
    return { claimed, owner: writtenOwner ?? undefined };
  }
  if (verdict === 'mine')
    return { claimed: true, token: token!, lastRun: lastRunOf(startedAgo, endedAgo) };
  // 'dead', or 'free' but not written: the caller's session ended before the row was written
  // (or the call came too late: an answer its caller no longer reads).
  return { claimed: false, owner: verdict === 'held' ? (owner ?? undefined) : undefined };
}

/** One loop's claim and last record, from its row in a loopRuns answer. */
export function loopRunOf([
  loop,
  owner,
  token,
  startedAgo,
  endedAgo,
  report,
  recordedAgo,
]: Recorded): LoopRun {
  return {
    loop,
    owner: owner ?? undefined,
    token: token ?? undefined,
    lastRun: lastRunOf(startedAgo, endedAgo),
    report: report ?? undefined,
    reportedAgo: recordedAgo ?? undefined,
  };
}
