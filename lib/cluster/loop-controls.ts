import type { Clock } from '../wait/internal.js';
import type { ClusterStore, ControlChange, LoopControl } from './cluster-store.js';

/** A loop's control as this replica holds it: the store's, with its time as a clock reading. */
export interface HeldControl {
  readonly state: 'paused' | 'started' | undefined;
  readonly by: string | undefined;
  /** When the state was set, on this replica's clock. */
  readonly at: number | undefined;
  /** The merged overrides, parsed; `undefined`: none. */
  readonly overrides: Readonly<Record<string, unknown>> | undefined;
  /** The last trigger asked for, and when (on this replica's clock). */
  readonly trigger: string | undefined;
  readonly triggerAt: number | undefined;
}

/**
 * What a member knows of the cluster's loop controls (pauses, starts and overrides that
 * `stop()`, `start()` and `update()` keep in the store): fetched whenever a heartbeat answers
 * a version other than the one held, so that the steady state costs no call. Until the first
 * fetch succeeded nothing is known, and the member claims nothing: a paused loop must not run
 * on a replica that has not heard of the pause yet. Internal.
 */
export class LoopControls {
  private version: number | undefined = undefined;
  private readonly held = new Map<string, HeldControl>();

  constructor(
    private readonly store: ClusterStore,
    private readonly cluster: string,
    private readonly clock: Clock,
  ) {}

  /**
   * Whether the last fetch was the first: what it found was asked before this replica heard of
   * anything (a trigger then may be old, or served by an earlier owner).
   */
  first = false;

  /** Whether the controls were fetched at least once. */
  get known(): boolean {
    return this.version !== undefined;
  }

  /** The control of `loop`, if it has one. */
  of(loop: string): HeldControl | undefined {
    return this.held.get(loop);
  }

  /**
   * Fetches the controls if `version` is not the one held; answers the loops whose control
   * changed (or went: a store that lost its data). Throws what the call threw.
   */
  async sync(
    version: number,
    call: <T>(make: () => Promise<T>) => Promise<T>,
  ): Promise<readonly string[]> {
    if (version === this.version) return [];
    const { version: fetched, loops } = await call(() => this.store.controls(this.cluster));
    const at = this.clock.now();
    const changed: string[] = [];
    const seen = new Set<string>();
    for (const control of loops) {
      seen.add(control.loop);
      const next = heldOf(control, at);
      if (!sameControl(this.held.get(control.loop), next)) changed.push(control.loop);
      this.held.set(control.loop, next);
    }
    for (const loop of this.held.keys()) {
      if (seen.has(loop)) continue;
      this.held.delete(loop);
      changed.push(loop);
    }
    this.first = this.version === undefined;
    this.version = fetched;
    return changed;
  }

  /** A change this replica made and the store took: held at once, before the next fetch. */
  applied(loop: string, change: ControlChange): void {
    const old = this.held.get(loop);
    const state = change.state ?? old?.state;
    const fields = change.overrides === undefined ? undefined : parse(change.overrides);
    this.held.set(loop, {
      state,
      by: change.state === undefined ? old?.by : change.by,
      at: change.state === undefined ? old?.at : this.clock.now(),
      overrides: fields === undefined ? old?.overrides : { ...old?.overrides, ...fields },
      trigger: change.trigger ?? old?.trigger,
      triggerAt: change.trigger === undefined ? old?.triggerAt : this.clock.now(),
    });
  }
}

function heldOf(control: LoopControl, at: number): HeldControl {
  return {
    state: control.state,
    by: control.by,
    at: control.ago === undefined ? undefined : at - control.ago,
    overrides: control.overrides === undefined ? undefined : parse(control.overrides),
    trigger: control.trigger,
    triggerAt: control.triggerAgo === undefined ? undefined : at - control.triggerAgo,
  };
}

function sameControl(a: HeldControl | undefined, b: HeldControl): boolean {
  return (
    a !== undefined &&
    a.state === b.state &&
    a.by === b.by &&
    a.trigger === b.trigger &&
    JSON.stringify(a.overrides) === JSON.stringify(b.overrides)
  );
}

function parse(json: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
