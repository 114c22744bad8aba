export type { ClusterOptions, Placement } from './cluster-options.js';
export type {
  ClaimResult,
  ClusterMember,
  ClusterStore,
  ControlChange,
  Controls,
  Heartbeat,
  HeartbeatResult,
  LastRun,
  LoopControl,
  LoopRun,
  OwnedLoop,
  RunRecord,
} from './cluster-store.js';
