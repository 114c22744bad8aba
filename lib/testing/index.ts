/** `nestjs-wait/testing`: tools for deterministic tests of code built on nestjs-wait. */
export { FakeClock } from './fake-clock.js';
export { FakeCluster, FakeReplica, type FakeClusterOptions } from './fake-cluster.js';
