/**
 * Where each spread loop runs: rendezvous (highest random weight) hashing of the loop's name
 * over the members that have the loop, with bounded load (Mirrokni, Thorup and Zadimoghaddam's
 * consistent hashing with bounded loads). Every replica computes it from the same view (the
 * members the store listed, with their loop names), so they agree without talking to each
 * other; the store's claims keep them safe while their views differ. Internal.
 */

/** How far above the mean a member's load may go. */
export const LOAD_BOUND = 1.15;

/** A member and the spread loops it has registered. */
export interface PlacementMember {
  readonly identity: string;
  readonly loops: ReadonlySet<string>;
}

/**
 * The owner of every loop that at least one member has. A member owns at most
 * `max(ceil(mean), floor(1.15 * mean))` loops, unless a loop has no other candidate (a rolling
 * deploy where only some replicas have it): it is never left without an owner. Loops with
 * fewer candidates are placed first, so that they find room.
 */
export function place(members: readonly PlacementMember[]): Map<string, string> {
  const sorted = [...members].sort((a, b) => compare(a.identity, b.identity));
  // Members by their index in identity order: a loop's candidates are indexes, its owner the
  // first of them by weight with room (one pass, no sort and no object per candidate).
  const candidates = new Map<string, number[]>();
  for (let m = 0; m < sorted.length; m++) {
    for (const loop of sorted[m].loops) {
      const list = candidates.get(loop);
      if (list === undefined) candidates.set(loop, [m]);
      else list.push(m);
    }
  }
  const owners = new Map<string, string>();
  if (candidates.size === 0) return owners;
  const mean = candidates.size / sorted.length;
  const cap = Math.max(Math.ceil(mean), Math.floor(LOAD_BOUND * mean));
  const load = new Array<number>(sorted.length).fill(0);
  const ids = sorted.map((m) => hash(m.identity) >>> 0);
  const order: { loop: string; list: number[]; key: number }[] = [];
  for (const [loop, list] of candidates) order.push({ loop, list, key: hash(loop) });
  order.sort((a, b) => a.list.length - b.list.length || a.key - b.key || compare(a.loop, b.loop));
  for (const { loop, list, key } of order) {
    const owner = ownerOf(key >>> 0, list, ids, load, cap);
    owners.set(loop, sorted[owner].identity);
    load[owner]++;
  }
  return owners;
}

/**
 * The candidate of highest weight for a loop among those with fewer than `cap` loops, or of all
 * when none has room; ties go to the lower index (the identity first in code-unit order), as in
 * {@link rank}'s order.
 */
function ownerOf(
  loop: number,
  list: readonly number[],
  ids: readonly number[],
  load: readonly number[],
  cap: number,
): number {
  let best = -1;
  let bestWeight = -1;
  let any = -1;
  let anyWeight = -1;
  for (const m of list) {
    const w = weight(loop, ids[m]);
    if (w > anyWeight || (w === anyWeight && m < any)) {
      any = m;
      anyWeight = w;
    }
    if (load[m] < cap && (w > bestWeight || (w === bestWeight && m < best))) {
      best = m;
      bestWeight = w;
    }
  }
  return best === -1 ? any : best;
}

/** The candidates by their weight for `loop`, highest first (ties by identity). */
export function rank(loop: string, identities: readonly string[]): string[] {
  const ids = new Map(identities.map((identity) => [identity, hash(identity) >>> 0]));
  return rankBy(hash(loop) >>> 0, identities, ids);
}

function rankBy(loop: number, identities: readonly string[], ids: Map<string, number>): string[] {
  const weighted = identities.map((identity) => ({
    identity,
    weight: weight(loop, ids.get(identity)!),
  }));
  weighted.sort((a, b) => b.weight - a.weight || compare(a.identity, b.identity));
  return weighted.map((w) => w.identity);
}

/**
 * The weight of a member for a loop, from their two hashes: MurmurHash3's 32-bit finalizer over
 * their combination, so that each name is hashed once, not once per pair.
 */
function weight(loop: number, member: number): number {
  let h = (loop ^ Math.imul(member, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A 53-bit string hash (cyrb53's construction: two 32-bit multiply-xorshift lanes). Written here
 * rather than taken from a package: a dozen lines, and placement needs only a well-mixed,
 * stable number, not a cryptographic digest (SHA-1 through `node:crypto` costs ~20x more per
 * name, and the browser build of a dashboard could not use it).
 */
export function hash(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Code-unit order, the same in every process (no locale). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
