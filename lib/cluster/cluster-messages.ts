import { show } from '../wait/internal.js';

/** Every message of the cluster layer (errors and logs), in one place. Internal. */
export const messages = {
  placement: (where: string, value: unknown) =>
    `${where}: placement must be 'leader', 'spread' or 'every'; got ${show(value)}`,
  bothOptions: (where: string) =>
    `${where}: set cluster or leaderElection, not both (leaderElection is cluster's old name)`,
  conflict: (where: string, placement: string, leaderOnly: boolean) =>
    `${where}: placement ${show(placement)} contradicts leaderOnly: ${leaderOnly}; set one of them`,
  without: (where: string, placement: string) =>
    `${where}: placement ${show(placement)} needs WaitModule's cluster option; without it every replica would run the loop`,
  notClusterStore: (where: string, store: unknown) =>
    `${where}: placement 'spread' needs a store with the cluster calls (heartbeat(), claimLoops(), releaseLoops(), leave(), memberLoops()): InMemoryLeaseStore, RedisLeaseStore, PostgresLeaseStore; got ${show(store)}`,
  joined: (name: string, identity: string, session: number) =>
    `Joined the cluster ${show(name)} as ${show(identity)} (session ${session}); spread loops are placed among its members`,
  sessionLost: (name: string, owned: number) =>
    `Lost the member lease in ${show(name)} (it expired before a renewal reached the store); ${owned} owned loops stand by until claimed again`,
  deadline: (name: string, owned: number) =>
    `No heartbeat confirmed in ${show(name)} within the renew deadline; ${owned} owned loops stand by`,
  left: (name: string, loops: number) =>
    `Left the cluster ${show(name)}; its ${loops} loops go to the other members`,
  leaveFailed: (name: string, error: string) =>
    `Could not leave the cluster ${show(name)} (${error}); the member lease expires by itself`,
  notLeft: (name: string, late: readonly string[]) =>
    `Not leaving the cluster ${show(name)}: ${late.join(', ')} still running; the member lease expires by itself`,
  releaseFailed: (name: string, loops: number, error: string) =>
    `Could not hand over ${loops} loops in ${show(name)} (${error}); retrying at the next heartbeat`,
  triggerNotAsked: (loop: string, error: string) =>
    `the store did not take the trigger of loop ${show(loop)} (${error}); nothing was asked of its owner`,
  triggerNotTaken: (loop: string, bound: number, error: string | undefined) =>
    `no live owner of loop ${show(loop)} took the trigger within ${bound} ms${error === undefined ? '' : ` (the last read of the store failed: ${error})`}; it did not run, and an owner that hears of it later does not run it`,
  triggerOwnerLost: (loop: string, owner: string) =>
    `the owner ${show(owner)} of loop ${show(loop)} was lost before the triggered run settled; it may have run in part`,
  triggerUnread: (loop: string, bound: number, error: string) =>
    `the owner of loop ${show(loop)} took the trigger, but the store could not be read for ${bound} ms since (${error}); the run may have settled`,
  triggerShutdown: (loop: string) =>
    `the application is shutting down: no longer waiting for the triggered run of loop ${show(loop)}`,
  triggerPaused: (loop: string, by: string | undefined) =>
    `loop ${show(loop)} is paused cluster-wide${by === undefined ? '' : ` by ${show(by)}`}: start() it first`,
} as const;
