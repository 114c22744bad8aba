import type { ClusterMember, ClusterStore } from './cluster-store.js';
import { hash, place, type PlacementMember } from './placement.js';

/**
 * What a member knows of the cluster: the live members from the last heartbeat and the loop
 * names of each (fetched only when a member's digest changes, so the steady state costs no
 * call), and the placement over them, computed again only when one of those changed. Internal.
 */
export class MemberView {
  members: readonly ClusterMember[] = [];
  private localNames: string[] = [];
  private localDigest = digestOf([]);
  private changed: (() => Iterable<string>) | undefined = undefined;
  private readonly loopsOf = new Map<string, { digest: string; loops: ReadonlySet<string> }>();
  private owners: Map<string, string> | undefined = undefined;
  private ownersKey: string | undefined = undefined;

  constructor(
    private readonly store: ClusterStore,
    private readonly cluster: string,
    private readonly identity: string,
  ) {}

  /** This replica's spread loops changed; read from `names` at the next heartbeat. */
  localChanged(names: () => Iterable<string>): void {
    this.changed = names;
  }

  /** This replica's spread loops, sorted, and their digest. */
  local(): { digest: string; names: readonly string[] } {
    const changed = this.changed;
    if (changed !== undefined) {
      // Once per heartbeat, not per add(): adding 10,000 loops would sort 10,000 times.
      this.changed = undefined;
      this.localNames = [...changed()].sort();
      this.localDigest = digestOf(this.localNames);
      this.loopsOf.set(this.identity, {
        digest: this.localDigest,
        loops: new Set(this.localNames),
      });
    }
    return { digest: this.localDigest, names: this.localNames };
  }

  /** Takes the live members a heartbeat listed; fetches the loops of those with a new digest. */
  async learn(
    members: readonly ClusterMember[],
    call: <T>(make: () => Promise<T>) => Promise<T>,
  ): Promise<void> {
    this.members = members;
    const live = new Set(members.map((m) => m.identity));
    for (const identity of this.loopsOf.keys()) {
      if (!live.has(identity) && identity !== this.identity) this.loopsOf.delete(identity);
    }
    const stale = members.filter(
      (m) => m.identity !== this.identity && this.loopsOf.get(m.identity)?.digest !== m.digest,
    );
    await Promise.all(
      stale.map(async (m) => {
        try {
          const loops = await call(() =>
            this.store.memberLoops(this.cluster, m.identity, m.digest),
          );
          // Kept only if they are what the digest says: a member whose new session the store
          // started without its names (it lost its data) is asked again at the next heartbeat.
          if (loops !== undefined && digestOf([...loops].sort()) === m.digest)
            this.loopsOf.set(m.identity, { digest: m.digest, loops: new Set(loops) });
        } catch {
          // Left out of this placement; asked again at the next heartbeat.
        }
      }),
    );
  }

  /** Each spread loop's owner over the live members whose loops are known (this one included). */
  placement(): Map<string, string> {
    const members: PlacementMember[] = [];
    const keys: string[] = [];
    const listed = new Set(this.members.map((m) => m.identity));
    for (const [identity, { digest, loops }] of this.loopsOf) {
      if (identity !== this.identity && !listed.has(identity)) continue;
      members.push({ identity, loops });
      keys.push(`${identity}\u0000${digest}`);
    }
    const key = keys.sort().join('\u0001');
    if (this.owners === undefined || key !== this.ownersKey) {
      this.owners = place(members);
      this.ownersKey = key;
    }
    return this.owners;
  }
}

/** A digest of sorted loop names: their count and a 53-bit hash of them. */
export function digestOf(sorted: readonly string[]): string {
  return `${sorted.length}-${hash(sorted.join('\u0000')).toString(36)}`;
}
