import type { ClusterStore, Heartbeat } from '../../lib/cluster/cluster-store.js';

/*
 * The cluster contract of a store (ClusterStore), as one suite that each store's spec runs:
 * the in-memory store on a FakeClock, Redis and PostgreSQL on the real servers. `pass(ms)` lets
 * that much time go by on the store's clock (a sleep on a real server).
 */

export interface ContractHarness {
  store: ClusterStore;
  /** A second replica's store on the same server (the same object for the in-memory store). */
  other: ClusterStore;
  pass(ms: number): Promise<void>;
  /** A cluster name of its own for one test. */
  cluster(): string;
}

/** Settles announcements: a microtask for the in-memory store, a round trip for a server. */
export type Settle = () => Promise<void>;

const TTL = 400;

const beat = (
  identity: string,
  session: number | undefined,
  extra: Partial<Heartbeat> = {},
): Heartbeat => ({
  identity,
  session,
  ttl: TTL,
  digest: 'd1',
  loops: session === undefined ? ['a', 'b'] : undefined,
  runs: [],
  ...extra,
});

export function clusterStoreContract(make: () => Promise<ContractHarness>, settle: Settle): void {
  let h: ContractHarness;
  beforeEach(async () => {
    h = await make();
  });

  describe('members', () => {
    it('a join starts a session; a renewal keeps it; every live member is listed', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      expect(a.storedDigest).toBeUndefined();
      expect(a.members).toEqual([
        expect.objectContaining({ identity: 'a', session: a.session, digest: 'd1' }),
      ]);
      const b = await h.other.heartbeat(c, beat('b', undefined, { digest: 'd2' }));
      expect(b.session).toBeGreaterThan(a.session);
      const again = await h.store.heartbeat(c, beat('a', a.session));
      expect(again.session).toBe(a.session);
      expect(again.storedDigest).toBe('d1');
      const seen = [...again.members].sort((x, y) => x.identity.localeCompare(y.identity));
      expect(seen.map((m) => [m.identity, m.session, m.digest])).toEqual([
        ['a', a.session, 'd1'],
        ['b', b.session, 'd2'],
      ]);
      expect(seen[0].age).toBeGreaterThanOrEqual(0);
    });

    it('a member whose lease ran out is gone; its next heartbeat starts a greater session', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const b = await h.other.heartbeat(c, beat('b', undefined));
      await h.pass(TTL / 2);
      await h.other.heartbeat(c, beat('b', b.session));
      await h.pass(TTL / 2 + 50);
      const seen = await h.other.heartbeat(c, beat('b', b.session));
      expect(seen.members.map((m) => m.identity)).toEqual(['b']);
      expect(await h.other.memberLoops(c, 'a', 'd1')).toBeUndefined();
      const back = await h.store.heartbeat(c, beat('a', a.session));
      expect(back.session).toBeGreaterThan(b.session);
    });

    it("a heartbeat with a session that is not the member's starts a new one", async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const wrong = await h.store.heartbeat(c, beat('a', a.session + 1000));
      expect(wrong.session).not.toBe(a.session);
      expect(wrong.session).not.toBe(a.session + 1000);
    });

    it('stores the loop names by digest', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(
        c,
        beat('a', undefined, { loops: ['x', 'y'], digest: 'dx' }),
      );
      expect(await h.other.memberLoops(c, 'a', 'dx')).toEqual(['x', 'y']);
      expect(await h.other.memberLoops(c, 'a', 'other')).toBeUndefined();
      expect(await h.other.memberLoops(c, 'nobody', 'dx')).toBeUndefined();
      await h.store.heartbeat(c, beat('a', a.session, { loops: ['z'], digest: 'dz' }));
      expect(await h.other.memberLoops(c, 'a', 'dz')).toEqual(['z']);
      // A renewal without names keeps them.
      await h.store.heartbeat(c, beat('a', a.session, { digest: 'dz' }));
      expect(await h.other.memberLoops(c, 'a', 'dz')).toEqual(['z']);
    });

    it('keeps 1,000 loop names', async () => {
      const c = h.cluster();
      const loops = Array.from({ length: 1000 }, (_, i) => `tenant-${i}.poll`);
      await h.store.heartbeat(c, beat('a', undefined, { loops, digest: 'big' }));
      expect(await h.other.memberLoops(c, 'a', 'big')).toEqual(loops);
    });

    it('leave ends the session and frees its claims at once', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const b = await h.other.heartbeat(c, beat('b', undefined));
      const [mine] = await h.store.claimLoops(c, 'a', a.session, ['x']);
      expect(mine.claimed).toBe(true);
      expect(await h.store.leave(c, 'a', a.session, [])).toBe(true);
      expect(await h.store.leave(c, 'a', a.session, [])).toBe(false);
      const [theirs] = await h.other.claimLoops(c, 'b', b.session, ['x']);
      expect(theirs).toMatchObject({ claimed: true });
      if (mine.claimed && theirs.claimed) expect(theirs.token).toBeGreaterThan(mine.token);
      const seen = await h.other.heartbeat(c, beat('b', b.session));
      expect(seen.members.map((m) => m.identity)).toEqual(['b']);
    });

    it('identities, digests and loop names may hold any character', async () => {
      const c = h.cluster();
      const loops = [' ', 'a b', 'ünïcødé ✓ 🚀', '<img src=x>', '{x}', '"q"\\', 'line\nbreak'];
      const who = 'replica 1 <b>✓</b>\n';
      const digest = 'd "1" ✓\n';
      const a = await h.store.heartbeat(c, beat(who, undefined, { loops, digest }));
      expect(a.members).toEqual([expect.objectContaining({ identity: who, digest })]);
      expect(await h.other.memberLoops(c, who, digest)).toEqual(loops);
      const claimed = await h.store.claimLoops(c, who, a.session, loops);
      expect(claimed.map((r) => [r.loop, r.claimed])).toEqual(loops.map((l) => [l, true]));
      const b = await h.other.heartbeat(c, beat('b', undefined));
      const refused = await h.other.claimLoops(c, 'b', b.session, loops);
      expect(refused).toEqual(loops.map((loop) => ({ loop, claimed: false, owner: who })));
      const owned = claimed.map((r) => ({ loop: r.loop, token: (r as { token: number }).token }));
      const run = { ...owned[3], startedAgo: 5, endedAgo: 1 };
      const released = await h.store.releaseLoops(c, who, owned, [run]);
      expect([...released].sort()).toEqual([...loops].sort());
      const taken = await h.other.claimLoops(c, 'b', b.session, loops);
      expect(taken.map((r) => r.claimed && r.lastRun !== undefined)).toEqual(
        loops.map((loop) => loop === '<img src=x>'),
      );
    });

    it('clusters of two names never meet', async () => {
      const c1 = h.cluster();
      const c2 = h.cluster();
      await h.store.heartbeat(c1, beat('a', undefined));
      const b = await h.other.heartbeat(c2, beat('b', undefined));
      expect(b.members.map((m) => m.identity)).toEqual(['b']);
      const [x] = await h.other.claimLoops(c2, 'b', b.session, ['x']);
      expect(x.claimed).toBe(true);
    });
  });

  describe('claims', () => {
    it('one owner per loop; a re-claim by the owner keeps its token', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const b = await h.other.heartbeat(c, beat('b', undefined));
      const first = await h.store.claimLoops(c, 'a', a.session, ['x', 'y']);
      expect(first.map((r) => [r.loop, r.claimed])).toEqual([
        ['x', true],
        ['y', true],
      ]);
      const refused = await h.other.claimLoops(c, 'b', b.session, ['x', 'z']);
      expect(refused[0]).toEqual({ loop: 'x', claimed: false, owner: 'a' });
      expect(refused[1]).toMatchObject({ loop: 'z', claimed: true });
      const again = await h.store.claimLoops(c, 'a', a.session, ['x']);
      expect(again[0]).toMatchObject({
        claimed: true,
        token: (first[0] as { token: number }).token,
      });
    });

    it("a loop whose owner's lease ran out goes to the next claimant with a greater token", async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const b = await h.other.heartbeat(c, beat('b', undefined));
      const [x] = await h.store.claimLoops(c, 'a', a.session, ['x']);
      await h.pass(TTL / 2);
      await h.other.heartbeat(c, beat('b', b.session));
      await h.pass(TTL / 2 + 50);
      const live = await h.other.heartbeat(c, beat('b', b.session));
      const [taken] = await h.other.claimLoops(c, 'b', live.session, ['x']);
      expect(taken).toMatchObject({ claimed: true });
      if (x.claimed && taken.claimed) expect(taken.token).toBeGreaterThan(x.token);
    });

    it('an owner that rejoined has lost its loops to a claimant: its old session claims nothing', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      await h.store.claimLoops(c, 'a', a.session, ['x']);
      const rejoined = await h.store.heartbeat(c, beat('a', a.session + 1000));
      const b = await h.other.heartbeat(c, beat('b', undefined));
      const [taken] = await h.other.claimLoops(c, 'b', b.session, ['x']);
      expect(taken).toMatchObject({ claimed: true });
      const [old] = await h.store.claimLoops(c, 'a', a.session, ['y']);
      expect(old).toEqual({ loop: 'y', claimed: false, owner: undefined });
      const [back] = await h.store.claimLoops(c, 'a', rejoined.session, ['x']);
      expect(back).toEqual({ loop: 'x', claimed: false, owner: 'b' });
    });

    it('a member whose session is not alive claims nothing', async () => {
      const c = h.cluster();
      const results = await h.store.claimLoops(c, 'ghost', 12345, ['x']);
      expect(results).toEqual([{ loop: 'x', claimed: false, owner: undefined }]);
    });

    it('release frees a loop only for the owner with its token, and announces it', async () => {
      const c = h.cluster();
      let told = 0;
      const watch = await h.other.watchCluster!(c, () => told++);
      try {
        const a = await h.store.heartbeat(c, beat('a', undefined));
        const b = await h.other.heartbeat(c, beat('b', undefined));
        const [x] = await h.store.claimLoops(c, 'a', a.session, ['x']);
        const token = (x as { token: number }).token;
        await settle();
        told = 0;
        expect(await h.other.releaseLoops(c, 'b', [{ loop: 'x', token }], [])).toEqual([]);
        expect(await h.store.releaseLoops(c, 'a', [{ loop: 'x', token: token + 1 }], [])).toEqual(
          [],
        );
        await settle();
        expect(told).toBe(0);
        expect(await h.store.releaseLoops(c, 'a', [{ loop: 'x', token }], [])).toEqual(['x']);
        await settle();
        expect(told).toBeGreaterThanOrEqual(1);
        // Three settles can outlast b's lease on a real server's clock: b heartbeats, as a
        // member does, and claims with the session it holds then.
        const live = await h.other.heartbeat(c, beat('b', b.session));
        const [taken] = await h.other.claimLoops(c, 'b', live.session, ['x']);
        expect(taken).toMatchObject({ claimed: true });
        if (taken.claimed) expect(taken.token).toBeGreaterThan(token);
      } finally {
        await watch.close();
      }
    });

    it('announces a join and a new digest, not a plain renewal', async () => {
      const c = h.cluster();
      let told = 0;
      const watch = await h.other.watchCluster!(c, () => told++);
      try {
        const a = await h.store.heartbeat(c, beat('a', undefined));
        await settle();
        expect(told).toBeGreaterThanOrEqual(1);
        told = 0;
        await h.store.heartbeat(c, beat('a', a.session));
        await settle();
        expect(told).toBe(0);
        await h.store.heartbeat(c, beat('a', a.session, { digest: 'd9', loops: ['q'] }));
        await settle();
        expect(told).toBeGreaterThanOrEqual(1);
        expect(watch.active).toBe(true);
      } finally {
        await watch.close();
      }
      expect(watch.active).toBe(false);
    });

    it('announces a leave, not a leave of a session that is not alive', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      let told = 0;
      const watch = await h.other.watchCluster!(c, () => told++);
      try {
        expect(await h.store.leave(c, 'a', a.session + 1000, [])).toBe(false);
        await settle();
        expect(told).toBe(0);
        expect(await h.store.leave(c, 'a', a.session, [])).toBe(true);
        await settle();
        expect(told).toBeGreaterThanOrEqual(1);
      } finally {
        await watch.close();
      }
    });

    it('claims 500 loops in one call, each with its own token', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const loops = Array.from({ length: 500 }, (_, i) => `loop-${i}`);
      const results = await h.store.claimLoops(c, 'a', a.session, loops);
      expect(results.map((r) => r.loop)).toEqual(loops);
      expect(results.every((r) => r.claimed)).toBe(true);
      const released = await h.store.releaseLoops(
        c,
        'a',
        results.map((r) => ({ loop: r.loop, token: (r as { token: number }).token })),
        [],
      );
      expect([...released].sort()).toEqual([...loops].sort());
    });
  });

  describe('run records', () => {
    it("the next owner sees the last recorded run, as durations on the store's clock", async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const b = await h.other.heartbeat(c, beat('b', undefined));
      const [x] = await h.store.claimLoops(c, 'a', a.session, ['x', 'y']);
      expect(x).toMatchObject({ claimed: true, lastRun: undefined });
      const token = (x as { token: number }).token;
      await h.store.heartbeat(
        c,
        beat('a', a.session, { runs: [{ loop: 'x', token, startedAgo: 300, endedAgo: 100 }] }),
      );
      await h.pass(200);
      expect(await h.store.releaseLoops(c, 'a', [{ loop: 'x', token }], [])).toEqual(['x']);
      const [taken] = await h.other.claimLoops(c, 'b', b.session, ['x']);
      if (!taken.claimed) throw new Error('not claimed');
      expect(taken.lastRun!.startedAgo).toBeGreaterThanOrEqual(490);
      expect(taken.lastRun!.startedAgo).toBeLessThan(700);
      expect(taken.lastRun!.endedAgo).toBeGreaterThanOrEqual(290);
      expect(taken.lastRun!.endedAgo).toBeLessThan(500);
    });

    it('a run still in flight has no end; release and leave write their records first', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const b = await h.other.heartbeat(c, beat('b', undefined));
      const claimed = await h.store.claimLoops(c, 'a', a.session, ['x', 'y']);
      const [tx, ty] = claimed.map((r) => (r as { token: number }).token);
      await h.store.releaseLoops(
        c,
        'a',
        [{ loop: 'x', token: tx }],
        [{ loop: 'x', token: tx, startedAgo: 50 }],
      );
      await h.store.leave(c, 'a', a.session, [
        { loop: 'y', token: ty, startedAgo: 40, endedAgo: 10 },
      ]);
      const [x, y] = await h.other.claimLoops(c, 'b', b.session, ['x', 'y']);
      if (!x.claimed || !y.claimed) throw new Error('not claimed');
      expect(x.lastRun).toMatchObject({ endedAgo: undefined });
      expect(x.lastRun!.startedAgo).toBeGreaterThanOrEqual(50);
      expect(y.lastRun!.endedAgo).toBeGreaterThanOrEqual(10);
      expect(y.lastRun!.endedAgo).toBeLessThan(300);
    });

    it('refuses a record whose token no longer owns the loop', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const b = await h.other.heartbeat(c, beat('b', undefined));
      const [x] = await h.store.claimLoops(c, 'a', a.session, ['x']);
      const token = (x as { token: number }).token;
      await h.store.releaseLoops(c, 'a', [{ loop: 'x', token }], []);
      const [taken] = await h.other.claimLoops(c, 'b', b.session, ['x']);
      const theirs = (taken as { token: number }).token;
      // The old owner's late record, then the new owner's release: the next claim sees neither
      // a run of the old owner's nor one made up.
      await h.store.heartbeat(
        c,
        beat('a', a.session, { runs: [{ loop: 'x', token, startedAgo: 5, endedAgo: 1 }] }),
      );
      await h.other.releaseLoops(c, 'b', [{ loop: 'x', token: theirs }], []);
      const [again] = await h.store.claimLoops(c, 'a', a.session, ['x']);
      expect(again).toMatchObject({ claimed: true, lastRun: undefined });
    });
  });

  describe('loop controls', () => {
    it('a new cluster has no control, at version 0, and a heartbeat says so', async () => {
      const c = h.cluster();
      expect(await h.store.controls(c)).toEqual({ version: 0, loops: [] });
      const a = await h.store.heartbeat(c, beat('a', undefined));
      expect(a.controlVersion).toBe(0);
    });

    it('a pause is kept with who asked and how long ago; each change has a greater version, which heartbeats answer', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const v1 = await h.other.controlLoop(c, 'x', { state: 'paused', by: 'b' });
      expect(v1).toBeGreaterThan(0);
      await h.pass(30);
      const { version, loops } = await h.store.controls(c);
      expect(version).toBe(v1);
      expect(loops).toEqual([
        {
          loop: 'x',
          state: 'paused',
          by: 'b',
          ago: expect.any(Number) as number,
          overrides: undefined,
          trigger: undefined,
          triggerAgo: undefined,
        },
      ]);
      expect(loops[0].ago).toBeGreaterThanOrEqual(25);
      expect(loops[0].ago).toBeLessThan(1000);
      const again = await h.store.heartbeat(c, beat('a', a.session));
      expect(again.controlVersion).toBe(v1);
      const v2 = await h.store.controlLoop(c, 'x', { state: 'started', by: 'a' });
      expect(v2).toBeGreaterThan(v1);
      expect((await h.store.heartbeat(c, beat('a', a.session))).controlVersion).toBe(v2);
      expect((await h.other.controls(c)).loops).toEqual([
        {
          loop: 'x',
          state: 'started',
          by: 'a',
          ago: expect.any(Number) as number,
          overrides: undefined,
          trigger: undefined,
          triggerAgo: undefined,
        },
      ]);
    });

    it('overrides merge field by field (a later one wins) and stay through changes of state', async () => {
      const c = h.cluster();
      await h.store.controlLoop(c, 'x', { by: 'a', overrides: JSON.stringify({ period: 5000 }) });
      await h.store.controlLoop(c, 'x', {
        by: 'b',
        overrides: JSON.stringify({ jitter: 0.5, period: 7000 }),
      });
      await h.store.controlLoop(c, 'x', { state: 'paused', by: 'b' });
      const [x] = (await h.store.controls(c)).loops;
      expect(x).toMatchObject({ loop: 'x', state: 'paused', by: 'b' });
      expect(JSON.parse(x.overrides!)).toEqual({ period: 7000, jitter: 0.5 });
      // Overrides alone leave the state and who set it.
      await h.other.controlLoop(c, 'x', { by: 'c', overrides: JSON.stringify({ sliding: false }) });
      const [y] = (await h.store.controls(c)).loops;
      expect(y).toMatchObject({ state: 'paused', by: 'b' });
      expect(JSON.parse(y.overrides!)).toEqual({ period: 7000, jitter: 0.5, sliding: false });
    });

    it('keeps the controls of each loop and each cluster apart, for names of any character', async () => {
      const c = h.cluster();
      const d = h.cluster();
      const odd = 'tenant "x"\n{ü}:*?%_';
      await h.store.controlLoop(c, odd, { state: 'paused', by: 'a"b' });
      await h.store.controlLoop(c, 'y', { by: 'a', overrides: JSON.stringify({ period: 10 }) });
      const loops = [...(await h.store.controls(c)).loops].sort((x, y) =>
        x.loop < y.loop ? 1 : -1,
      );
      expect(loops.map((l) => [l.loop, l.state, l.by])).toEqual([
        ['y', undefined, undefined],
        [odd, 'paused', 'a"b'],
      ]);
      expect(await h.store.controls(d)).toEqual({ version: 0, loops: [] });
    });

    it('announces a change of control to the watchers', async () => {
      const c = h.cluster();
      let told = 0;
      const watch = await h.other.watchCluster!(c, () => told++);
      try {
        await settle();
        told = 0;
        await h.store.controlLoop(c, 'x', { state: 'paused', by: 'a' });
        await settle();
        expect(told).toBeGreaterThanOrEqual(1);
      } finally {
        await watch.close();
      }
    });

    it("lists each member's time since its last renewal", async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      await h.pass(60);
      await h.other.heartbeat(c, beat('b', undefined));
      const { members } = await h.other.heartbeat(c, beat('b', undefined));
      const mine = members.find((m) => m.identity === 'a')!;
      expect(mine.session).toBe(a.session);
      expect(mine.renewedAgo).toBeGreaterThanOrEqual(55);
      expect(mine.renewedAgo).toBeLessThan(TTL);
      expect(members.find((m) => m.identity === 'b')!.renewedAgo).toBeLessThan(50);
    });
  });

  describe('triggers and loop runs', () => {
    it('a trigger is kept with its id and how long ago, replacing the one before, and leaves the rest', async () => {
      const c = h.cluster();
      await h.store.controlLoop(c, 'x', { state: 'paused', by: 'a' });
      const v1 = await h.other.controlLoop(c, 'x', { by: 'b', trigger: 't1' });
      await h.pass(30);
      const [x] = (await h.store.controls(c)).loops;
      expect(x).toMatchObject({ loop: 'x', state: 'paused', by: 'a', trigger: 't1' });
      expect(x.triggerAgo).toBeGreaterThanOrEqual(25);
      expect(x.triggerAgo).toBeLessThan(1000);
      const v2 = await h.store.controlLoop(c, 'x', { by: 'a', trigger: 't2' });
      expect(v2).toBeGreaterThan(v1);
      const [y] = (await h.store.controls(c)).loops;
      expect(y).toMatchObject({ state: 'paused', by: 'a', trigger: 't2' });
      expect(y.triggerAgo).toBeLessThan(25);
      // A change without a trigger keeps it.
      await h.store.controlLoop(c, 'x', { state: 'started', by: 'b' });
      const [z] = (await h.store.controls(c)).loops;
      expect(z).toMatchObject({ state: 'started', by: 'b', trigger: 't2' });
    });

    it("answers each loop's live owner, token, last run and report, in one call", async () => {
      const c = h.cluster();
      expect(await h.store.loopRuns(c)).toEqual([]);
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const claimed = await h.store.claimLoops(c, 'a', a.session, ['x', 'y']);
      const [tx, ty] = claimed.map((r) => (r as { token: number }).token);
      const report = JSON.stringify({ outcome: 'failed', error: 'boom "ü"\n<b>', n: 1.25 });
      await h.store.heartbeat(
        c,
        beat('a', a.session, {
          runs: [
            { loop: 'x', token: tx, startedAgo: 300, endedAgo: 100, report },
            { loop: 'y', token: ty, startedAgo: 20 },
          ],
        }),
      );
      await h.pass(50);
      const runs = [...(await h.other.loopRuns(c))].sort((p, q) => (p.loop < q.loop ? -1 : 1));
      expect(runs.map((r) => [r.loop, r.owner, r.token, r.report])).toEqual([
        ['x', 'a', tx, report],
        ['y', 'a', ty, undefined],
      ]);
      const [x, y] = runs;
      expect(x.lastRun!.startedAgo).toBeGreaterThanOrEqual(340);
      expect(x.lastRun!.startedAgo).toBeLessThan(1000);
      expect(x.lastRun!.endedAgo).toBeGreaterThanOrEqual(140);
      expect(x.lastRun!.endedAgo).toBeLessThan(800);
      expect(x.reportedAgo).toBeGreaterThanOrEqual(45);
      expect(x.reportedAgo).toBeLessThan(700);
      expect(y.lastRun).toMatchObject({ endedAgo: undefined });
      // Only the loops asked for; a loop with no claim is left out.
      const some = await h.store.loopRuns(c, ['y', 'nothing']);
      expect(some.map((r) => r.loop)).toEqual(['y']);
    });

    it('a released loop, or one whose owner left or whose lease ended, has no owner but keeps its record', async () => {
      const c = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const b = await h.other.heartbeat(c, beat('b', undefined, { ttl: 100 }));
      const [x] = await h.store.claimLoops(c, 'a', a.session, ['x']);
      const [y] = await h.other.claimLoops(c, 'b', b.session, ['y']);
      const tx = (x as { token: number }).token;
      const ty = (y as { token: number }).token;
      await h.store.releaseLoops(
        c,
        'a',
        [{ loop: 'x', token: tx }],
        [{ loop: 'x', token: tx, startedAgo: 10, endedAgo: 5, report: '{"r":1}' }],
      );
      await h.other.heartbeat(
        c,
        beat('b', b.session, {
          ttl: 100,
          runs: [{ loop: 'y', token: ty, startedAgo: 10, report: '{"r":2}' }],
        }),
      );
      await h.pass(150);
      const runs = [...(await h.store.loopRuns(c))].sort((p, q) => (p.loop < q.loop ? -1 : 1));
      expect(runs.map((r) => [r.loop, r.owner, r.token, r.report])).toEqual([
        ['x', undefined, undefined, '{"r":1}'],
        ['y', undefined, undefined, '{"r":2}'],
      ]);
      // A new owner's claim keeps the record until it writes its own.
      const a2 = await h.store.heartbeat(c, beat('a', a.session));
      const [again] = await h.store.claimLoops(c, 'a', a2.session, ['y']);
      const t2 = (again as { token: number }).token;
      const [mine] = await h.other.loopRuns(c, ['y']);
      expect(mine).toMatchObject({ owner: 'a', token: t2, report: '{"r":2}' });
      await h.store.heartbeat(
        c,
        beat('a', a2.session, { runs: [{ loop: 'y', token: t2, startedAgo: 1 }] }),
      );
      const [after] = await h.other.loopRuns(c, ['y']);
      expect(after).toMatchObject({ owner: 'a', report: undefined });
    });

    it("refuses a report whose token no longer owns the loop, and keeps each cluster's runs apart", async () => {
      const c = h.cluster();
      const d = h.cluster();
      const a = await h.store.heartbeat(c, beat('a', undefined));
      const [x] = await h.store.claimLoops(c, 'a', a.session, ['x']);
      const tx = (x as { token: number }).token;
      await h.store.releaseLoops(c, 'a', [{ loop: 'x', token: tx }], []);
      const b = await h.other.heartbeat(c, beat('b', undefined));
      await h.other.claimLoops(c, 'b', b.session, ['x']);
      await h.store.heartbeat(
        c,
        beat('a', a.session, { runs: [{ loop: 'x', token: tx, startedAgo: 1, report: '{}' }] }),
      );
      const [run] = await h.store.loopRuns(c);
      expect(run).toMatchObject({ loop: 'x', owner: 'b', lastRun: undefined, report: undefined });
      expect(await h.store.loopRuns(d)).toEqual([]);
    });
  });
}
