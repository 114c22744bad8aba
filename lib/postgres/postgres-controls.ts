import type { ControlChange, Controls, LoopControl } from '../cluster/cluster-store.js';
import type { LeaseCallOptions } from '../leader/lease-store.js';
import type { PostgresCalls, PostgresTables } from './postgres-calls.js';
import type { ControlStatements } from './postgres-control-statements.js';
import { announcementOf } from './postgres-cluster-values.js';

/**
 * A loop's control as `controls` answers it: [loop, state, by, ago, overrides, trigger,
 * triggerAgo].
 */
type ControlRow = [
  string,
  LoopControl['state'] | null,
  string | null,
  number | null,
  string | null,
  string | null,
  number | null,
];

/**
 * The loop controls of a `PostgresLeaseStore` (see `ClusterStore.controlLoop`): each change one
 * statement on `<table>_controls` and `<table>_clusters` (see postgres-control-statements.ts),
 * announced as the cluster's other changes are. Its tables are made with the cluster's. Internal.
 */
export class PostgresControls {
  /**
   * @param tables - the cluster's tables, the controls' among them (`sql.create`): a heartbeat
   *   reads the version, so they are made together.
   * @param channel - the store's NOTIFY channel.
   */
  constructor(
    private readonly calls: PostgresCalls,
    private readonly tables: PostgresTables,
    private readonly sql: ControlStatements,
    private readonly channel: string,
  ) {}

  async controlLoop(
    cluster: string,
    loop: string,
    change: ControlChange,
    options?: LeaseCallOptions,
  ): Promise<number> {
    const row = await this.calls.statement<{ version: string | null }>(
      this.tables,
      'controlLoop',
      options,
      this.sql.controlLoop,
      [
        cluster,
        loop,
        change.state ?? null,
        change.by,
        change.overrides ?? null,
        change.trigger ?? null,
        this.channel,
        announcementOf(cluster),
      ],
      (r) => r.version === null,
    );
    return Number(row.version);
  }

  async controls(cluster: string, options?: LeaseCallOptions): Promise<Controls> {
    const row = await this.calls.statement<{ version: string | null; loops: ControlRow[] | null }>(
      this.tables,
      'controls',
      options,
      this.sql.controls,
      [cluster],
      () => false, // a read: a late answer is as good as any
    );
    return {
      version: Number(row.version ?? 0),
      loops: (row.loops ?? []).map(([loop, state, by, ago, overrides, trigger, triggerAgo]) => ({
        loop,
        state: state ?? undefined,
        by: by ?? undefined,
        ago: ago ?? undefined,
        overrides: overrides ?? undefined,
        trigger: trigger ?? undefined,
        triggerAgo: triggerAgo ?? undefined,
      })),
    };
  }
}
