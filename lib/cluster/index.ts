export type { ClusterOptions, Placement } from './cluster-options.js';
export type {
  ClaimResult,
  ClusterMember,
  ClusterStore,
  Heartbeat,
  HeartbeatResult,
  LastRun,
  OwnedLoop,
  RunRecord,
} from './cluster-store.js';
