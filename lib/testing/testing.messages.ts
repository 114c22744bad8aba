/** Every message of the testing tools, in one place. Internal: not exported from the package. */
export const testingMessages = {
  runUntilTimers: (maxTimers: number) =>
    `FakeClock.runUntil(): the promise is still pending after ${maxTimers} timers`,
  runUntilNoTimer: 'FakeClock.runUntil(): no timer is left and the promise is still pending',
} as const;
