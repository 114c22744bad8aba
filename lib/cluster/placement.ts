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
  const candidates = new Map<string, string[]>();
  const sorted = [...members].sort((a, b) => compare(a.identity, b.identity));
  for (const member of sorted) {
    for (const loop of member.loops) {
      let list = candidates.get(loop);
      if (list === undefined) candidates.set(loop, (list = []));
      list.push(member.identity);
    }
  }
  const owners = new Map<string, string>();
  if (candidates.size === 0) return owners;
  const mean = candidates.size / sorted.length;
  const cap = Math.max(Math.ceil(mean), Math.floor(LOAD_BOUND * mean));
  const load = new Map<string, number>(sorted.map((m) => [m.identity, 0]));
  const order = [...candidates.keys()]
    .map((loop) => ({ loop, count: candidates.get(loop)!.length, key: hash(loop) }))
    .sort((a, b) => a.count - b.count || a.key - b.key || compare(a.loop, b.loop));
  const ids = new Map(sorted.map((m) => [m.identity, hash(m.identity) >>> 0]));
  for (const { loop, key } of order) {
    const ranked = rankBy(key >>> 0, candidates.get(loop)!, ids);
    const owner = ranked.find((identity) => load.get(identity)! < cap) ?? ranked[0];
    owners.set(loop, owner);
    load.set(owner, load.get(owner)! + 1);
  }
  return owners;
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
