import { show } from '../wait/internal.js';

/** Where every message of the health indicator says the problem is. Internal. */
export const where = 'WaitHealthIndicator.isHealthy()';

/** Where every message of the cluster's check says the problem is. Internal. */
export const clusterWhere = 'WaitHealthIndicator.isClusterHealthy()';

/** `"a", "b"`. */
const names = (list: readonly string[]): string => list.map((n) => show(n)).join(', ');

/** Every message of the health indicator. Internal: not exported from the package. */
export const terminusMessages = {
  periods: (value: unknown) => `${where}: periods must be a finite number > 0; got ${show(value)}`,
  key: (value: unknown) => `${where}: key must be a non-empty string; got ${show(value)}`,
  options: (value: unknown) => `${where}: options must be an object; got ${show(value)}`,
  boolean: (what: string, value: unknown) =>
    `${where}: ${what} must be true or false; got ${show(value)}`,
  names: (what: string, value: unknown) =>
    `${where}: ${what} must be an array of loop names (strings); got ${show(value)}`,
  name: (what: string, index: number, value: unknown) =>
    `${where}: ${what}[${index}] must be a loop name (a string); got ${show(value)}`,
  loopsAndExclude: (loops: readonly string[], exclude: readonly string[]) =>
    `${where}: give loops (only these) or exclude (all but these), not both; got loops [${names(loops)}] and exclude [${names(exclude)}]`,
  requireLeaderWithout: () =>
    `${where}: requireLeader needs WaitModule's leaderElection option; without it no replica ever leads, so the check could never be up; got requireLeader true`,
  noSuccess: (ms: number, allowed: number) =>
    `no successful run for ${ms} ms (allowed: ${allowed} ms)`,
  longRun: (ms: number, allowed: number) =>
    `a run has been in flight for ${ms} ms (allowed: ${allowed} ms)`,
  down: (list: readonly string[]) =>
    `${list.length === 1 ? 'loop' : 'loops'} ${names(list)} not healthy`,
  unknown: (list: readonly string[]) => `no loop is named ${list.map((n) => show(n)).join(' or ')}`,
  noLeader: (lease: string) =>
    `no replica leads lease ${show(lease)}: leader-only loops run nowhere`,
  staleLeader: (lease: string, last: string) =>
    `no replica is known to lead lease ${show(lease)}: ${show(last)} was seen leading it, but the lease store has not answered for longer than a lease lasts; leader-only loops may run nowhere`,
  clusterKey: (value: unknown) =>
    `${clusterWhere}: key must be a non-empty string; got ${show(value)}`,
  placedNowhere: (list: readonly string[]) =>
    `${list.length === 1 ? 'loop' : 'loops'} ${names(list)} ${list.length === 1 ? 'has' : 'have'} no live owner in the store: ${list.length === 1 ? 'it runs' : 'they run'} nowhere`,
  noClusterLeader: (loops: number) =>
    `no replica is known to lead: ${loops} leader ${loops === 1 ? 'loop runs' : 'loops run'} nowhere`,
  storeUnread: (error: string) => `the cluster's view could not be read (${error})`,
} as const;
