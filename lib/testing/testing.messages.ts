/** Every message of the testing tools, in one place. Internal: not exported from the package. */
export const testingMessages = {
  runUntilTimers: (maxTimers: number) =>
    `FakeClock.runUntil(): the promise is still pending after ${maxTimers} timers`,
  runUntilNoTimer: 'FakeClock.runUntil(): no timer is left and the promise is still pending',
  replica: (identity: unknown) =>
    `FakeCluster.replica(): identity must be a non-empty string not used by another replica; got ${JSON.stringify(identity)}`,
  replicaState: (identity: string, what: string, state: string) =>
    `FakeReplica.${what}(): replica ${JSON.stringify(identity)} is ${state}`,
  linkDown: (identity: string) => `replica ${JSON.stringify(identity)} cannot reach the store`,
} as const;
