import pg from 'pg';
import type { ClaimResult, Heartbeat } from '../../lib/cluster/cluster-store.js';
import { PostgresLeaseStore } from '../../lib/postgres/index.js';
import { DATABASE_URL, describeWith, unique, until } from '../leader/servers.js';
import { clusterStoreContract } from './cluster-store.contract.js';

/*
 * The cluster contract against the real PostgreSQL, and what only a server shows: statements
 * waiting on rows locked elsewhere, rows lost behind the store's back, two members racing from
 * two pools, big batches. The run has tables of its own and drops them at the end.
 */

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const describePostgres = await describeWith('postgres');

describePostgres('PostgresLeaseStore: the cluster contract', () => {
  const table = unique('nw_cluster_');
  const app = unique('nw_cluster_app_');
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 6 });
  admin.on('error', () => undefined);
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 6 });
  pool.on('error', () => undefined);
  // Two replicas: one on a pool of its own, one on a given pool.
  const store = new PostgresLeaseStore({
    connectionString: DATABASE_URL,
    table,
    config: { application_name: app },
  });
  const other = new PostgresLeaseStore({ pool, table });
  let n = 0;
  const cluster = () => `cluster-${++n}`;

  afterAll(async () => {
    await Promise.all([store.close(), other.close()]);
    await pool.end();
    for (const suffix of ['', '_members', '_loops', '_controls', '_clusters']) {
      await admin.query(`DROP TABLE IF EXISTS ${table}${suffix}`);
    }
    await admin.query(`DROP SEQUENCE IF EXISTS ${table}_token_seq`);
    await admin.end();
  });

  describe('contract', () => {
    clusterStoreContract(
      () => Promise.resolve({ store, other, pass: sleep, cluster }),
      () => sleep(150),
    );
  });

  const beat = (identity: string, session: number | undefined, extra: Partial<Heartbeat> = {}) =>
    ({ identity, session, ttl: 5000, digest: 'd', loops: [], runs: [], ...extra }) as Heartbeat;
  const tokenOf = (result: ClaimResult): number => {
    if (!result.claimed) throw new Error(`${result.loop} not claimed`);
    return result.token;
  };
  const loopRow = async (c: string, loop: string) =>
    (
      await admin.query<{ owner: string | null; token: string }>(
        `SELECT owner, token FROM ${table}_loops WHERE cluster = $1 AND loop = $2`,
        [c, loop],
      )
    ).rows[0];

  /**
   * Runs `statements` in a transaction of its own, held until the returned function ends it
   * (ROLLBACK unless told COMMIT).
   */
  async function hold(
    values: unknown[],
    ...statements: string[]
  ): Promise<(end?: 'COMMIT' | 'ROLLBACK') => Promise<void>> {
    const client = await admin.connect();
    await client.query('BEGIN');
    for (const sql of statements) await client.query(sql, values);
    return async (end = 'ROLLBACK') => {
      await client.query(end);
      client.release();
    };
  }
  const lockLoop = (c: string, loop: string) =>
    hold([c, loop], `SELECT * FROM ${table}_loops WHERE cluster = $1 AND loop = $2 FOR UPDATE`);
  const lockMember = (c: string, identity: string) =>
    hold(
      [c, identity],
      `SELECT * FROM ${table}_members WHERE cluster = $1 AND identity = $2 FOR UPDATE`,
    );

  /** Resolves once a statement of `store` is seen waiting on a lock (so, inside it). */
  const waitingOnLock = () =>
    until('a store statement waiting on a row lock', async () => {
      const { rowCount } = await admin.query(
        `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [app],
      );
      return rowCount! > 0 ? true : undefined;
    });

  describe('a statement that waited on a row locked past its deadline', () => {
    it('a claim rejects as late and has not claimed the loop', async () => {
      const c = cluster();
      const a = await other.heartbeat(c, beat('a', undefined));
      const b = await store.heartbeat(c, beat('b', undefined));
      const token = tokenOf((await other.claimLoops(c, 'a', a.session, ['x']))[0]);
      await other.releaseLoops(c, 'a', [{ loop: 'x', token }], []);
      const unlock = await lockLoop(c, 'x');
      const late = store.claimLoops(c, 'b', b.session, ['x'], { timeout: 200 });
      late.catch(() => undefined);
      await waitingOnLock();
      await sleep(400);
      await unlock();
      await expect(late).rejects.toThrow(/after its caller's deadline/);
      expect(await loopRow(c, 'x')).toEqual({ owner: null, token: String(token) });
    });

    it('a heartbeat rejects as late and has not renewed the member, stored its names or recorded its runs and reports', async () => {
      const c = cluster();
      const a = await store.heartbeat(c, beat('a', undefined, { ttl: 1000 }));
      const x = tokenOf((await store.claimLoops(c, 'a', a.session, ['x']))[0]);
      const unlock = await lockMember(c, 'a');
      const late = store.heartbeat(
        c,
        beat('a', a.session, {
          ttl: 60_000,
          digest: 'new',
          loops: ['y'],
          runs: [{ loop: 'x', token: x, startedAgo: 10, endedAgo: 5, report: '{"late":true}' }],
        }),
        { timeout: 200 },
      );
      late.catch(() => undefined);
      await waitingOnLock();
      await sleep(400);
      await unlock();
      await expect(late).rejects.toThrow(/after its caller's deadline/);
      const { rows } = await admin.query<{ left: number; digest: string; session: string }>(
        `SELECT (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::float8 AS left,
                digest, session FROM ${table}_members WHERE cluster = $1 AND identity = 'a'`,
        [c],
      );
      expect(rows[0]).toMatchObject({ digest: 'd', session: String(a.session) });
      expect(rows[0].left).toBeLessThan(1000);
      expect(await other.memberLoops(c, 'a', 'new')).toBeUndefined();
      const { rows: runs } = await admin.query<{ started_at: Date | null; report: string | null }>(
        `SELECT started_at, report FROM ${table}_loops WHERE cluster = $1 AND loop = 'x'`,
        [c],
      );
      expect(runs[0]).toEqual({ started_at: null, report: null });
    });

    it("a claim that waited while the owner's renewal was in progress keeps the owner: the renewal counts, not the snapshot", async () => {
      const c = cluster();
      const o = await other.heartbeat(c, beat('o', undefined, { ttl: 300 }));
      const b = await store.heartbeat(c, beat('b', undefined));
      tokenOf((await other.claimLoops(c, 'o', o.session, ['x']))[0]);
      // A renewal of o's in progress, and the loop's row locked too: whatever the claim waits
      // on, its snapshot has o's lease as it was before the renewal.
      const commit = await hold(
        [c],
        `UPDATE ${table}_members SET expires_at = clock_timestamp() + interval '1 minute'
         WHERE cluster = $1 AND identity = 'o'`,
        `SELECT * FROM ${table}_loops WHERE cluster = $1 AND loop = 'x' FOR UPDATE`,
      );
      const claiming = store.claimLoops(c, 'b', b.session, ['x'], { timeout: 5000 });
      await waitingOnLock();
      await sleep(400); // o's lease as the snapshot has it runs out meanwhile
      await commit('COMMIT');
      expect(await claiming).toEqual([{ loop: 'x', claimed: false, owner: 'o' }]);
      expect((await loopRow(c, 'x')).owner).toBe('o');
    });

    it('a claim that waited on a loop while its owner renewed keeps the owner', async () => {
      const c = cluster();
      const o = await other.heartbeat(c, beat('o', undefined, { ttl: 300 }));
      const b = await store.heartbeat(c, beat('b', undefined));
      tokenOf((await other.claimLoops(c, 'o', o.session, ['x']))[0]);
      const unlock = await lockLoop(c, 'x');
      const claiming = store.claimLoops(c, 'b', b.session, ['x'], { timeout: 5000 });
      await sleep(200);
      await other.heartbeat(c, beat('o', o.session, { ttl: 300 }));
      await sleep(200); // o's lease before the renewal has run out
      await unlock();
      expect(await claiming).toEqual([{ loop: 'x', claimed: false, owner: 'o' }]);
      expect((await loopRow(c, 'x')).owner).toBe('o');
    });

    it('a member that joined while a claim waited keeps the loop it claimed meanwhile', async () => {
      const c = cluster();
      const gone = await other.heartbeat(c, beat('gone', undefined, { ttl: 100 }));
      await other.claimLoops(c, 'gone', gone.session, ['k1', 'k2']);
      await sleep(150); // its lease ran out: both loops are free
      const b = await store.heartbeat(c, beat('b', undefined));
      const unlock = await lockLoop(c, 'k1');
      const claiming = store.claimLoops(c, 'b', b.session, ['k1', 'k2'], { timeout: 5000 });
      await waitingOnLock(); // on k1, its snapshot taken: a's row is not in it
      const a = await other.heartbeat(c, beat('a', undefined));
      const [k2] = await other.claimLoops(c, 'a', a.session, ['k2']);
      expect(k2).toMatchObject({ claimed: true });
      await unlock();
      const [k1, k2b] = await claiming;
      expect(k1).toMatchObject({ claimed: true });
      expect(k2b).toEqual({ loop: 'k2', claimed: false, owner: 'a' });
      expect((await loopRow(c, 'k2')).owner).toBe('a');
    });
  });

  describe('loop controls', () => {
    const controlRow = async (c: string, loop: string) =>
      (
        await admin.query<{ state: string | null; set_by: string | null; overrides: unknown }>(
          `SELECT state, set_by, overrides FROM ${table}_controls WHERE cluster = $1 AND loop = $2`,
          [c, loop],
        )
      ).rows[0];

    it('a change sent past its deadline rejects as late and writes nothing', async () => {
      const c = cluster();
      await store.controls(c); // the tables made and the server's clock known
      const late = store.controlLoop(c, 'x', { state: 'paused', by: 'a' }, { timeout: 0 });
      await expect(late).rejects.toThrow(/after its caller's deadline/);
      expect(await other.controls(c)).toEqual({ version: 0, loops: [] });
      expect(await controlRow(c, 'x')).toBeUndefined();
    });

    it.each([
      [
        'the loop',
        (c: string) =>
          `SELECT * FROM ${table}_controls WHERE cluster = '${c}' AND loop = 'x' FOR UPDATE`,
      ],
      [
        'the cluster',
        (c: string) => `SELECT * FROM ${table}_clusters WHERE cluster = '${c}' FOR UPDATE`,
      ],
    ])(
      "a change that waited on %s's row locked past its deadline rejects as late, writes nothing and announces nothing",
      async (_, lock) => {
        const c = cluster();
        const v1 = await other.controlLoop(c, 'x', { state: 'paused', by: 'a' });
        let told = 0;
        const watch = await other.watchCluster(c, () => told++);
        try {
          const unlock = await hold([], lock(c));
          const late = store.controlLoop(
            c,
            'x',
            {
              state: 'started',
              by: 'late',
              overrides: JSON.stringify({ period: 1 }),
              trigger: 'late',
            },
            { timeout: 200 },
          );
          late.catch(() => undefined);
          await waitingOnLock();
          await sleep(400);
          await unlock();
          await expect(late).rejects.toThrow(/after its caller's deadline/);
          await sleep(150);
          expect(told).toBe(0);
          expect(await other.controls(c)).toEqual({
            version: v1,
            loops: [
              {
                loop: 'x',
                state: 'paused',
                by: 'a',
                ago: expect.any(Number) as number,
                overrides: undefined,
                trigger: undefined,
                triggerAgo: undefined,
              },
            ],
          });
        } finally {
          await watch.close();
        }
      },
    );

    it('a change that waited on a lock within its deadline is written, merged with the latest overrides', async () => {
      const c = cluster();
      await other.controlLoop(c, 'x', { by: 'a', overrides: JSON.stringify({ period: 5 }) });
      const commit = await hold(
        [c],
        `UPDATE ${table}_controls SET overrides = overrides || '{"jitter": 0.5}'
         WHERE cluster = $1 AND loop = 'x'`,
      );
      const changing = store.controlLoop(
        c,
        'x',
        { by: 'b', overrides: JSON.stringify({ sliding: true }) },
        { timeout: 5000 },
      );
      await waitingOnLock();
      await commit('COMMIT');
      expect(await changing).toBeGreaterThan(0);
      expect((await controlRow(c, 'x')).overrides).toEqual({
        period: 5,
        jitter: 0.5,
        sliding: true,
      });
    });

    it('versions keep growing after the controls were deleted or the tables emptied behind its back', async () => {
      const c = cluster();
      const v1 = await store.controlLoop(c, 'x', { state: 'paused', by: 'a' });
      const v2 = await store.controlLoop(c, 'x', { state: 'started', by: 'a' });
      expect(v2).toBeGreaterThan(v1);
      await admin.query(`DELETE FROM ${table}_clusters WHERE cluster = $1`, [c]);
      await admin.query(`DELETE FROM ${table}_controls WHERE cluster = $1`, [c]);
      const v3 = await other.controlLoop(c, 'y', { state: 'paused', by: 'b' });
      expect(v3).toBeGreaterThan(v2);
      // The other clusters' rows go too: this run's tables only.
      await admin.query(`TRUNCATE ${table}_clusters, ${table}_controls`);
      const v4 = await store.controlLoop(c, 'x', { by: 'a', overrides: '{}' });
      expect(v4).toBeGreaterThan(v3);
      const a = await other.heartbeat(c, beat('a', undefined));
      expect(a.controlVersion).toBe(v4);
      expect(await store.controls(c)).toEqual({
        version: v4,
        loops: [{ loop: 'x', state: undefined, by: undefined, ago: undefined, overrides: '{}' }],
      });
    });

    it('a change is announced to a listener of another pool, and the listener reads it', async () => {
      const c = cluster();
      const seen: number[] = [];
      const watch = await other.watchCluster(c, () => {
        void other.controls(c).then((controls) => seen.push(controls.version));
      });
      try {
        const version = await store.controlLoop(c, 'x', { state: 'paused', by: 'a' });
        await until('the change announced and read', () => (seen.length > 0 ? true : undefined));
        expect(seen[0]).toBe(version);
      } finally {
        await watch.close();
      }
    });

    it('two pools changing the overrides of one loop at once keep every field, each change its own version', async () => {
      const c = cluster();
      const fields = Array.from({ length: 20 }, (_, i) => `f${i}`);
      const versions = await Promise.all(
        fields.map((field, i) =>
          (i % 2 === 0 ? store : other).controlLoop(c, 'x', {
            by: field,
            overrides: JSON.stringify({ [field]: i, shared: i }),
          }),
        ),
      );
      expect(new Set(versions).size).toBe(fields.length);
      const { version, loops } = await store.controls(c);
      expect(version).toBe(Math.max(...versions));
      const merged = JSON.parse(loops[0].overrides!) as Record<string, number>;
      for (const [i, field] of fields.entries()) expect(merged[field]).toBe(i);
      // `shared` is the last writer's: the one whose version is the greatest.
      expect(merged.shared).toBe(versions.indexOf(version));
    });
  });

  it('sessions and tokens keep growing after the cluster rows were deleted behind its back', async () => {
    const c = cluster();
    const a = await store.heartbeat(c, beat('a', undefined));
    const x = tokenOf((await store.claimLoops(c, 'a', a.session, ['x']))[0]);
    await admin.query(`DELETE FROM ${table}_members WHERE cluster = $1`, [c]);
    await admin.query(`DELETE FROM ${table}_loops WHERE cluster = $1`, [c]);
    const again = await store.heartbeat(c, beat('a', a.session));
    expect(again.session).toBeGreaterThan(a.session);
    expect(again.storedDigest).toBeUndefined();
    const b = await other.heartbeat(c, beat('b', undefined));
    expect(b.session).toBeGreaterThan(a.session);
    const [taken] = await other.claimLoops(c, 'b', b.session, ['x']);
    expect(tokenOf(taken)).toBeGreaterThan(x);
  });

  it.each([
    ['free loops', false],
    ['loops of a member whose lease ran out', true],
  ])(
    'two members claiming the same 500 %s at once from two pools: exactly one owner each',
    async (_, takeover) => {
      const c = cluster();
      const loops = Array.from({ length: 500 }, (_, i) => `race-${i}`);
      if (takeover) {
        const gone = await store.heartbeat(c, beat('gone', undefined, { ttl: 100 }));
        await store.claimLoops(c, 'gone', gone.session, loops);
        await sleep(150);
      }
      const a = await store.heartbeat(c, beat('a', undefined));
      const b = await other.heartbeat(c, beat('b', undefined));
      for (let round = 0; round < 3; round++) {
        // Each starts from a shuffled end, so that their statements meet in the middle.
        const [fromA, fromB] = await Promise.all([
          store.claimLoops(c, 'a', a.session, loops),
          other.claimLoops(c, 'b', b.session, [...loops].reverse()),
        ]);
        const byB = new Map(fromB.map((r) => [r.loop, r]));
        const { rows } = await admin.query<{ loop: string; owner: string }>(
          `SELECT loop, owner FROM ${table}_loops WHERE cluster = $1`,
          [c],
        );
        const owners = new Map(rows.map((r) => [r.loop, r.owner]));
        for (const ra of fromA) {
          const rb = byB.get(ra.loop)!;
          expect([ra.claimed, rb.claimed].filter(Boolean)).toHaveLength(1);
          const winner = ra.claimed ? 'a' : 'b';
          expect(owners.get(ra.loop)).toBe(winner);
          expect(ra.claimed ? rb : ra).toMatchObject({ claimed: false, owner: winner });
        }
      }
    },
  );

  it('claims and releases 10,000 loops in one call each', async () => {
    const c = cluster();
    const a = await store.heartbeat(c, beat('a', undefined));
    const loops = Array.from({ length: 10_000 }, (_, i) => `tenant-${i}.poll`);
    let began = performance.now();
    const claimed = await store.claimLoops(c, 'a', a.session, loops);
    const claimMs = performance.now() - began;
    expect(claimed.every((r) => r.claimed)).toBe(true);
    began = performance.now();
    const again = await store.claimLoops(c, 'a', a.session, loops);
    const reclaimMs = performance.now() - began;
    expect(again.map(tokenOf)).toEqual(claimed.map(tokenOf));
    const owned = claimed.map((r) => ({ loop: r.loop, token: tokenOf(r) }));
    const runs = owned.map((o) => ({ ...o, startedAgo: 20, endedAgo: 10 }));
    began = performance.now();
    const released = await store.releaseLoops(c, 'a', owned, runs);
    const releaseMs = performance.now() - began;
    expect(released).toHaveLength(10_000);
    console.log(
      `10,000 loops: claimed in ${claimMs.toFixed(0)} ms, re-claimed in ${reclaimMs.toFixed(0)} ms, released with their runs in ${releaseMs.toFixed(0)} ms`,
    );
  });

  describe('loop runs', () => {
    // A replica of its own whose every statement is counted.
    const sent: string[] = [];
    const counting = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    counting.on('error', () => undefined);
    const query = counting.query.bind(counting) as (text: string, values?: unknown[]) => unknown;
    (counting as { query: unknown }).query = (text: string, values?: unknown[]) => {
      sent.push(text);
      return query(text, values);
    };
    const counted = new PostgresLeaseStore({ pool: counting, table });

    afterAll(async () => {
      await counted.close();
      await counting.end();
    });

    it('answers 1,000 loops in one statement, in the order asked, live owners only', async () => {
      const c = cluster();
      await counted.controls(c); // the tables made and the server's clock known
      const loops = Array.from({ length: 1000 }, (_, i) => `tenant-${i}.poll`);
      const a = await store.heartbeat(c, beat('a', undefined));
      const gone = await store.heartbeat(c, beat('gone', undefined));
      // 500 loops of a live member, 400 of one that left, 100 never claimed.
      const claimed = [
        ...(await store.claimLoops(c, 'a', a.session, loops.slice(0, 500))),
        ...(await store.claimLoops(c, 'gone', gone.session, loops.slice(500, 900))),
      ];
      const runs = claimed.map((r) => ({
        loop: r.loop,
        token: tokenOf(r),
        startedAgo: 20,
        endedAgo: 10,
        report: JSON.stringify({ loop: r.loop }),
      }));
      await store.heartbeat(c, beat('a', a.session, { runs: runs.slice(0, 500) }));
      await store.leave(c, 'gone', gone.session, runs.slice(500));
      sent.length = 0;
      const began = performance.now();
      const answered = await counted.loopRuns(c, [...loops].reverse());
      const ms = performance.now() - began;
      expect(sent).toHaveLength(1);
      const expected = claimed.map((r, i) => [
        r.loop,
        i < 500 ? 'a' : undefined,
        i < 500 ? tokenOf(r) : undefined,
        JSON.stringify({ loop: r.loop }),
      ]);
      expect(answered.map((r) => [r.loop, r.owner, r.token, r.report])).toEqual(expected.reverse());
      expect(answered.every((r) => r.lastRun!.endedAgo! >= 10 && r.reportedAgo! >= 0)).toBe(true);
      sent.length = 0;
      const all = await counted.loopRuns(c);
      expect(sent).toHaveLength(1);
      expect(all.map((r) => r.loop).sort()).toEqual(loops.slice(0, 900).sort());
      console.log(`loopRuns of 1,000 loops (900 with a row) in ${ms.toFixed(0)} ms`);
    });

    it('never waits on a loop row locked elsewhere (a read without locks)', async () => {
      const c = cluster();
      const a = await store.heartbeat(c, beat('a', undefined));
      const token = tokenOf((await store.claimLoops(c, 'a', a.session, ['x']))[0]);
      const unlock = await lockLoop(c, 'x');
      try {
        const [run] = await counted.loopRuns(c, ['x'], { timeout: 1000 });
        expect(run).toMatchObject({ loop: 'x', owner: 'a', token });
      } finally {
        await unlock();
      }
    });

    it('keeps each report byte for byte, whatever its text, on every path that writes one', async () => {
      const c = cluster();
      const reports = [
        // What jsonb would rewrite: spaces, key order, a duplicate key, number spellings.
        '{ "b" : 1.0, "a": [1e400, -0, 0.1000000000000000055511151231257827], "a": "dup" }\n',
        JSON.stringify({ s: 'quote " backslash \\ \\" {x,y} NULL ümlaut 🐘 \u0000 \ud800 \n\t' }),
        '"NULL"',
        '""',
        'null',
        JSON.stringify({ big: 'x'.repeat(100_000) }),
      ];
      const loops = reports.map((_, i) => `r${i}`);
      const a = await store.heartbeat(c, beat('a', undefined));
      const tokens = (await store.claimLoops(c, 'a', a.session, loops)).map(tokenOf);
      const run = (i: number) => ({
        loop: loops[i],
        token: tokens[i],
        startedAgo: 2,
        report: reports[i],
      });
      await store.heartbeat(c, beat('a', a.session, { runs: [0, 1, 2].map(run) }));
      await store.releaseLoops(c, 'a', [{ loop: 'r3', token: tokens[3] }], [run(3)]);
      await store.leave(c, 'a', a.session, [4, 5].map(run));
      const answered = await other.loopRuns(c, loops);
      expect(answered.map((r) => r.report)).toEqual(reports);
      const { rows } = await admin.query<{ report: string }>(
        `SELECT report FROM ${table}_loops WHERE cluster = $1 ORDER BY loop`,
        [c],
      );
      expect(rows.map((r) => r.report)).toEqual(reports);
    });
  });

  it('loop names with any characters are kept and answered as given', async () => {
    const c = cluster();
    const names = ['', 'a,b', '{x}', '"quoted"', 'back\\slash', 'NULL', 'ümlaut 🐘', 'lone \ud800'];
    const a = await store.heartbeat(c, beat('a', undefined, { loops: names, digest: 'odd' }));
    expect(await other.memberLoops(c, 'a', 'odd')).toEqual([...names.slice(0, -1), 'lone \ufffd']);
    const claimed = await store.claimLoops(c, 'a', a.session, [...names, 'a,b']);
    expect(claimed.map((r) => [r.loop, r.claimed])).toEqual(
      [...names, 'a,b'].map((name) => [name, true]),
    );
    const owned = claimed.slice(0, -1).map((r) => ({ loop: r.loop, token: tokenOf(r) }));
    expect(await store.releaseLoops(c, 'a', owned, [])).toEqual(names);
  });

  it("members whose lease ran out are deleted by others' heartbeats", async () => {
    const c = cluster();
    await store.heartbeat(c, beat('brief', undefined, { ttl: 50 }));
    const b = await other.heartbeat(c, beat('b', undefined));
    await sleep(100);
    await other.heartbeat(c, beat('b', b.session));
    const { rows } = await admin.query(
      `SELECT identity FROM ${table}_members WHERE cluster = $1 ORDER BY identity`,
      [c],
    );
    expect(rows).toEqual([{ identity: 'b' }]);
  });

  it('one LISTEN connection serves lease releases and cluster announcements, never mixing them', async () => {
    const c = cluster();
    const heard: string[] = [];
    const lease = await store.watch(c, () => heard.push('lease'));
    const changes = await store.watchCluster(c, () => heard.push('cluster'));
    try {
      const { rows } = await admin.query(
        `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`,
        [app],
      );
      expect(rows).toHaveLength(1);
      await other.heartbeat(c, beat('a', undefined));
      await until('the join announced', () => (heard.length > 0 ? true : undefined));
      await sleep(150);
      expect(heard).toEqual(['cluster']);
      const taken = await other.acquire(c, 'a', 5000);
      if (!taken.acquired) throw new Error('not acquired');
      await other.release(c, taken.lease);
      await until('the release announced', () => (heard.length > 1 ? true : undefined));
      await sleep(150);
      expect(heard).toEqual(['cluster', 'lease']);
    } finally {
      await lease.close();
      await changes.close();
    }
  });

  describe('tables made by an earlier version', () => {
    const old = unique('nw_cluster_old_');
    // The cluster tables as the version before reports and triggers made them.
    const earlier = [
      `CREATE SEQUENCE ${old}_token_seq`,
      `CREATE TABLE ${old}_members (
         cluster text NOT NULL,
         identity text NOT NULL,
         session bigint NOT NULL,
         digest text,
         loops text[] NOT NULL,
         joined_at timestamptz NOT NULL,
         renewed_at timestamptz NOT NULL,
         expires_at timestamptz NOT NULL,
         PRIMARY KEY (cluster, identity))`,
      `CREATE TABLE ${old}_loops (
         cluster text NOT NULL,
         loop text NOT NULL,
         owner text,
         session bigint,
         token bigint NOT NULL,
         started_at timestamptz,
         ended_at timestamptz,
         PRIMARY KEY (cluster, loop))`,
      `CREATE TABLE ${old}_controls (
         cluster text NOT NULL,
         loop text NOT NULL,
         state text CHECK (state IN ('paused', 'started')),
         set_by text,
         set_at timestamptz,
         overrides jsonb,
         PRIMARY KEY (cluster, loop))`,
      `CREATE TABLE ${old}_clusters (
         cluster text PRIMARY KEY,
         control_version bigint NOT NULL)`,
    ];
    const columns = async (suffix: string) =>
      (
        await admin.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_name = $1
           ORDER BY ordinal_position`,
          [`${old}${suffix}`],
        )
      ).rows.map((r) => r.column_name);

    afterAll(async () => {
      for (const suffix of ['_members', '_loops', '_controls', '_clusters']) {
        await admin.query(`DROP TABLE IF EXISTS ${old}${suffix}`);
      }
      await admin.query(`DROP SEQUENCE IF EXISTS ${old}_token_seq`);
    });

    it('gain the new columns on the first cluster call of replicas starting together, keep their rows and serve every call', async () => {
      for (const sql of earlier) await admin.query(sql);
      // Rows the earlier version wrote: a loop released after a run, a paused loop.
      await admin.query(
        `INSERT INTO ${old}_loops (cluster, loop, owner, session, token, started_at, ended_at)
         VALUES ('c', 'x', NULL, NULL, 7, clock_timestamp() - interval '2 s',
                 clock_timestamp() - interval '1 s')`,
      );
      await admin.query(
        `INSERT INTO ${old}_controls (cluster, loop, state, set_by, set_at)
         VALUES ('c', 'x', 'paused', 'old', clock_timestamp())`,
      );
      await admin.query(`INSERT INTO ${old}_clusters VALUES ('c', 5)`);
      const stores = Array.from(
        { length: 4 },
        () => new PostgresLeaseStore({ connectionString: DATABASE_URL, table: old }),
      );
      try {
        const [first, second] = stores;
        const answers = await Promise.all(stores.map((s) => s.loopRuns('c')));
        for (const runs of answers) {
          expect(runs).toEqual([
            {
              loop: 'x',
              owner: undefined,
              token: undefined,
              lastRun: {
                startedAgo: expect.any(Number) as number,
                endedAgo: expect.any(Number) as number,
              },
              report: undefined,
              reportedAgo: undefined,
            },
          ]);
          expect(runs[0].lastRun!.startedAgo).toBeGreaterThanOrEqual(2000);
        }
        expect(await columns('_loops')).toEqual([
          ...['cluster', 'loop', 'owner', 'session', 'token', 'started_at', 'ended_at'],
          ...['report', 'recorded_at'],
        ]);
        expect((await columns('_controls')).slice(-2)).toEqual(['trigger_id', 'triggered_at']);
        expect(await first.controlLoop('c', 'x', { by: 'new', trigger: 't' })).toBeGreaterThan(5);
        expect((await second.controls('c')).loops).toMatchObject([
          { loop: 'x', state: 'paused', by: 'old', trigger: 't' },
        ]);
        const a = await first.heartbeat('c', beat('a', undefined));
        const token = tokenOf((await first.claimLoops('c', 'a', a.session, ['x']))[0]);
        expect(token).toBeGreaterThan(7);
        const report = '{"v": 2}';
        await first.heartbeat(
          'c',
          beat('a', a.session, { runs: [{ loop: 'x', token, startedAgo: 5, report }] }),
        );
        expect(await second.loopRuns('c')).toMatchObject([
          { loop: 'x', owner: 'a', token, report },
        ]);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('a store starting on tables that have every column leaves them alone: a busy table holds it up not', async () => {
      await store.controls(cluster()); // this run's tables, made with every column
      // A long write transaction on each table that an ALTER TABLE would wait for.
      const unlock = await hold(
        [],
        ...['_members', '_loops', '_controls', '_clusters'].map(
          (suffix) => `LOCK TABLE ${table}${suffix} IN ROW EXCLUSIVE MODE`,
        ),
      );
      const fresh = new PostgresLeaseStore({ connectionString: DATABASE_URL, table });
      try {
        const answer = fresh.loopRuns(cluster());
        const first = await Promise.race([answer, sleep(3000).then(() => 'held up')]);
        expect(first).toEqual([]);
      } finally {
        await unlock();
        await fresh.close();
      }
    });
  });
});
