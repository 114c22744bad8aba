/**
 * The cluster-wide controls, end to end: three replicas of the built sample on the real
 * Redis and on the real PostgreSQL, driven over HTTP as behind a load balancer (`GET /loops`,
 * `POST /loops/:name/stop|start|trigger`, which show and act on the cluster's view). A pause made
 * on a follower holds on every replica and through its owner's SIGKILL until a start on another
 * replica; a trigger on a follower runs the loop once, on its owner, and answers after that run;
 * every replica shows the same owner, state and last run of each loop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { place } from '../../lib/cluster/placement.js';
import { DATABASE_URL, REDIS_URL, describeWith, unique, until } from '../leader/servers.js';
import { Sample, type LoopView } from './sample-process.js';

const CONTAINER_GC = 'container-gc';
const IMAGE_GC = 'image-gc';
const LOOPS = [CONTAINER_GC, IMAGE_GC];
const PODS = ['pod-a', 'pod-b', 'pod-c'];
const HOUR = 3_600_000;
/**
 * How far two replicas' readings of one instant may differ: each turns the store's durations
 * ("started 120 ms ago") into a time on its own clock when it reads them.
 */
const SKEW = 100;

/** Where the replicas keep their leases, under names no other test uses. */
interface Store {
  /** The environment that puts the sample's cluster there. */
  readonly env: Record<string, string>;
  /** Deletes the keys or tables the replicas created. */
  cleanup(): Promise<void>;
}

function redisStore(): Store {
  const lease = unique('sample-cluster-');
  return {
    env: { REDIS_URL, LEASE_NAME: lease },
    async cleanup() {
      const admin = new Redis(REDIS_URL);
      try {
        // The leader lease `{<name>}`, `{<name>}:token`, and the cluster's `{cluster:<name>}:*`.
        const keys = [
          ...(await admin.keys(`nestjs-wait:lease:{${lease}}*`)),
          ...(await admin.keys(`nestjs-wait:lease:{cluster:${lease}}:*`)),
        ];
        if (keys.length > 0) await admin.del(...keys);
      } finally {
        admin.disconnect();
      }
    },
  };
}

function postgresStore(): Store {
  const table = unique('nw_sample_');
  return {
    // An empty REDIS_URL: the sample takes DATABASE_URL (see sample/cluster.config.ts).
    env: { REDIS_URL: '', DATABASE_URL, LEASE_TABLE: table, LEASE_NAME: unique('sample-cluster-') },
    async cleanup() {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
      pool.on('error', () => undefined);
      try {
        // The lease table and the four cluster tables beside it, then its token sequence (which
        // no table owns).
        const { rows } = await pool.query<{ name: string; kind: string }>(
          `SELECT quote_ident(relname) AS name, relkind::text AS kind
             FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace
            WHERE nspname = current_schema() AND relkind IN ('r', 'S')
              AND starts_with(relname, $1)
            ORDER BY relkind DESC`,
          [table],
        );
        for (const { name, kind } of rows) {
          await pool.query(`DROP ${kind === 'r' ? 'TABLE' : 'SEQUENCE'} IF EXISTS ${name} CASCADE`);
        }
      } finally {
        await pool.end();
      }
    },
  };
}

/** The fields of a loop's view every replica reads alike from the store: compared exactly. */
const SHARED = [
  'owner',
  'state',
  'placement',
  'period',
  'iterations',
  'failures',
  'consecutiveFailures',
  'inFlight',
  'lastOutcome',
  'lastErrorMessage',
  'pausedBy',
] as const;
/** Its times: compared within {@link SKEW}. */
const TIMES = [
  'lastStartedAt',
  'lastEndedAt',
  'lastSucceededAt',
  'nextRunAt',
  'reportedAt',
] as const;

/** Where `a` and `b` differ in `fields`, one line each: `[]` when they agree. */
function differences(
  a: LoopView,
  b: LoopView,
  fields: readonly (keyof LoopView)[] = [...SHARED, ...TIMES],
): string[] {
  const found: string[] = [];
  for (const field of fields) {
    const [x, y] = [a[field], b[field]];
    const same = (TIMES as readonly string[]).includes(field)
      ? x === undefined
        ? y === undefined
        : y !== undefined && Math.abs(Date.parse(String(x)) - Date.parse(String(y))) <= SKEW
      : x === y;
    if (!same) found.push(`${a.name} ${field}: ${String(x)} vs ${String(y)}`);
  }
  return found;
}

/** `loop` in the replica's `GET /loops`. */
async function listed(sample: Sample, loop: string): Promise<LoopView> {
  const view = (await sample.loops())?.[loop];
  if (view === undefined) throw new Error(`${sample.pod}: GET /loops shows no ${loop}`);
  return view;
}

const time = (date: string | undefined): number => (date === undefined ? NaN : Date.parse(date));

describe.each([
  ['Redis', redisStore, await describeWith('redis')],
  ['PostgreSQL', postgresStore, await describeWith('postgres')],
] as const)('the sample as 3 replicas on %s', (_kind, makeStore, describeIf) => {
  describeIf('GET /loops and POST /loops/:name/stop|start|trigger act cluster-wide', () => {
    let store: Store | undefined;
    let samples: Sample[] = [];

    afterEach(async () => {
      await Promise.all(samples.map((s) => s.kill()));
      samples = [];
      await store?.cleanup();
      store = undefined;
    }, 20_000);

    /** `until`, failing with the end of every replica's log (its routine lines left out). */
    async function waitFor<T>(
      what: string,
      check: () => T | undefined | Promise<T | undefined>,
      ms = 10_000,
    ): Promise<T> {
      try {
        return await until(what, check, ms);
      } catch (error) {
        const logs = samples.map((s) => {
          const lines = s.output
            .split('\n')
            .filter((l) => !/VERBOSE|DEBUG|Router|Instance/.test(l));
          return `--- ${s.pod}${s.alive ? '' : ' (exited)'}\n${lines.slice(-20).join('\n')}`;
        });
        throw new Error(`${(error as Error).message}\n${logs.join('\n')}`, { cause: error });
      }
    }

    /**
     * Starts the 3 replicas (container GC every 200 ms, image GC hourly, unless `env` says
     * otherwise) and waits until each one's `GET /loops` shows every loop running on the owner
     * the placement of the 3 gives, which is where it stays: a loop each on two of them (at most
     * one per replica), the third (`idle`) owns none.
     */
    async function boot(env: Record<string, string> = {}) {
      store = makeStore();
      const common = {
        ...store.env,
        LEASE_DURATION: '3s',
        RENEW_DEADLINE: '2s',
        RETRY_PERIOD: '500ms',
        CONTAINER_GC_PERIOD: '200ms',
        IMAGE_GC_PERIOD: '1h',
        ...env,
      };
      samples = PODS.map((pod) => new Sample(pod, common));
      const placed = place(PODS.map((identity) => ({ identity, loops: new Set(LOOPS) })));
      await waitFor(
        'the 3 replicas to agree on each loop owner',
        async () => {
          const views = await Promise.all(samples.map((s) => s.loops()));
          const agreed = views.every((v) =>
            LOOPS.every((loop) => {
              const view = v?.[loop];
              return (
                view !== undefined &&
                view.owner === placed.get(loop) &&
                view.state === 'running' &&
                view.placement === 'spread'
              );
            }),
          );
          return agreed ? true : undefined;
        },
        20_000,
      );
      const owner = (loop: string): Sample => samples.find((s) => s.pod === placed.get(loop))!;
      const idle = samples.filter((s) => LOOPS.every((loop) => owner(loop) !== s));
      expect(idle).toHaveLength(1);
      return { owner, idle: idle[0] };
    }

    it('stop on a follower pauses the loop on every replica, through its owner being killed, until start on another', async () => {
      const { owner: ownerOf, idle } = await boot();
      const owner = ownerOf(CONTAINER_GC);
      const pauser = idle; // runs neither loop
      const starter = ownerOf(IMAGE_GC); // neither the owner nor the pauser
      await waitFor('container-gc to run on its owner', () =>
        owner.runs(CONTAINER_GC) >= 3 ? true : undefined,
      );

      const asked = Date.now();
      const stop = await pauser.post(CONTAINER_GC, 'stop');
      const answered = Date.now();
      expect(stop.status).toBe(200);
      expect(stop.body).toMatchObject({ state: 'paused', pausedBy: pauser.pod });
      const paused = await waitFor('every replica to show container-gc paused', async () => {
        const views = await Promise.all(samples.map((s) => listed(s, CONTAINER_GC)));
        const all = views.every((v) => v.state === 'paused' && v.pausedBy === pauser.pod);
        return all && views.every((v) => !v.inFlight) ? views : undefined;
      });
      for (const view of paused) {
        expect(view.owner).toBe(owner.pod);
        expect(time(view.pausedAt)).toBeGreaterThanOrEqual(asked - SKEW);
        expect(time(view.pausedAt)).toBeLessThanOrEqual(answered + SKEW);
        expect(view.nextRunAt).toBeUndefined();
      }
      // The owner runs it no more: 5 periods later, the same count and last run.
      await sleep(1000);
      const atPause = await owner.loop(CONTAINER_GC);
      const ownerView = paused[samples.indexOf(owner)];
      expect(atPause).toMatchObject({ state: 'paused', iterations: ownerView.iterations });
      expect(atPause.lastStartedAt).toBe(ownerView.lastStartedAt);
      const lastRun = time(atPause.lastStartedAt);
      const survivors = [pauser, starter];
      const runsAtPause = survivors.map((s) => s.runs(CONTAINER_GC));

      await owner.kill();
      const newOwner = await waitFor(
        'a survivor to own container-gc (past the lease of the killed owner)',
        async () => {
          const views = await Promise.all(survivors.map((s) => listed(s, CONTAINER_GC)));
          const next = views[0].owner;
          return next !== undefined && next !== owner.pod && views.every((v) => v.owner === next)
            ? survivors.find((s) => s.pod === next)
            : undefined;
        },
        15_000,
      );
      expect(newOwner).toBeDefined();
      // 5 periods on the new owner: still paused, and no run of it anywhere since the pause.
      await sleep(1000);
      for (const survivor of survivors) {
        const view = await listed(survivor, CONTAINER_GC);
        expect(view).toMatchObject({ state: 'paused', pausedBy: pauser.pod, owner: newOwner.pod });
        // The new owner's own last run (if it ran it before it moved) or the store's: the killed
        // owner's last, before the pause.
        expect(time(view.lastStartedAt ?? new Date(0).toISOString())).toBeLessThanOrEqual(
          lastRun + SKEW,
        );
      }
      expect(survivors.map((s) => s.runs(CONTAINER_GC))).toEqual(runsAtPause);
      // The survivor that does not own it reads the last run from the store: the killed owner's.
      const other = survivors.find((s) => s !== newOwner)!;
      const stored = await listed(other, CONTAINER_GC);
      expect(differences(stored, atPause, ['lastStartedAt', 'lastEndedAt'])).toEqual([]);

      const startedAt = Date.now();
      const start = await starter.post(CONTAINER_GC, 'start');
      expect(start.status).toBe(200);
      expect(start.body.state).toBe('running');
      expect(start.body.pausedBy).toBeUndefined();
      await waitFor(
        'container-gc to run again on its new owner, as both survivors see',
        async () => {
          const views = await Promise.all(survivors.map((s) => listed(s, CONTAINER_GC)));
          const running = views.every(
            (v) =>
              v.state === 'running' &&
              v.owner === newOwner.pod &&
              time(v.lastStartedAt) >= startedAt - SKEW,
          );
          return running && newOwner.runs(CONTAINER_GC) > runsAtPause[survivors.indexOf(newOwner)]
            ? true
            : undefined;
        },
      );
      expect(other.runs(CONTAINER_GC)).toBe(runsAtPause[survivors.indexOf(other)]);
      for (const s of samples) expect(s.output).not.toMatch(/Unhandled|TypeError/);
    }, 60_000);

    it('trigger on a follower runs the hourly loop once, on its owner, and answers after that run', async () => {
      const { owner: ownerOf, idle: follower } = await boot();
      const owner = ownerOf(IMAGE_GC);
      // Its first run at boot is behind it, the next an hour away: only the trigger runs it now.
      const before = await waitFor('image-gc to wait for its next run', async () => {
        const view = await owner.loop(IMAGE_GC);
        return !view.inFlight && view.nextRunAt !== undefined ? view : undefined;
      });
      expect(time(before.nextRunAt)).toBeGreaterThan(Date.now() + HOUR / 2);
      const runs = samples.map((s) => s.runs(IMAGE_GC));

      const asked = Date.now();
      const { status, body } = await follower.post(IMAGE_GC, 'trigger');
      const answered = Date.now();
      expect(status).toBe(200);
      // The answer comes once the run has settled on the owner: it shows that run, counted there.
      expect(body).toMatchObject({
        owner: owner.pod,
        state: 'running',
        inFlight: false,
        lastOutcome: 'succeeded',
        iterations: before.iterations + 1,
      });
      expect(time(body.lastStartedAt)).toBeGreaterThanOrEqual(asked - SKEW);
      expect(time(body.lastEndedAt)).toBeGreaterThanOrEqual(time(body.lastStartedAt));
      expect(time(body.lastEndedAt)).toBeLessThanOrEqual(answered + SKEW);
      const own = await owner.loop(IMAGE_GC);
      expect(own.iterations).toBe(before.iterations + 1);
      expect(differences(own, body, ['lastStartedAt', 'lastEndedAt'])).toEqual([]);

      // And only once: 3 heartbeats later, the same count, and the next run still an hour away.
      await sleep(1500);
      const later = await owner.loop(IMAGE_GC);
      expect(later.iterations).toBe(before.iterations + 1);
      expect(time(later.nextRunAt)).toBeGreaterThan(Date.now() + HOUR / 2);
      for (const s of samples.filter((s) => s !== owner)) {
        expect((await s.loop(IMAGE_GC)).iterations).toBe(before.iterations + 1);
      }
      // One run logged, by the owner; none by the follower or the third replica.
      expect(samples.map((s, i) => s.runs(IMAGE_GC) - runs[i])).toEqual(
        samples.map((s) => (s === owner ? 1 : 0)),
      );
    }, 60_000);

    it('GET /loops on every replica shows the same owner, state and last run of each loop', async () => {
      // Both loops hourly: their last run is the trigger's until the test ends.
      const { owner: ownerOf, idle } = await boot({ CONTAINER_GC_PERIOD: '1h' });
      const answers = new Map<string, LoopView>();
      for (const loop of LOOPS) {
        const { status, body } = await idle.post(loop, 'trigger');
        expect(status).toBe(200);
        answers.set(loop, body);
      }
      // Once the owner's report of that run is in the store, read by both other replicas.
      const views = await waitFor('each owner report of the trigger on every replica', async () => {
        const lists = await Promise.all(samples.map((s) => s.loops()));
        const reported = LOOPS.every((loop) =>
          samples.every(
            (s, i) =>
              s === ownerOf(loop) ||
              time(lists[i]?.[loop]?.reportedAt) >= time(answers.get(loop)!.lastEndedAt) - SKEW,
          ),
        );
        return reported ? lists.map((list) => list!) : undefined;
      });

      for (const loop of LOOPS) {
        const owner = ownerOf(loop);
        const answer = answers.get(loop)!;
        const others = samples.filter((s) => s !== owner).map((s) => views[samples.indexOf(s)]);
        const reference = others[0][loop];
        expect(reference).toMatchObject({
          owner: owner.pod,
          state: 'running',
          lastOutcome: 'succeeded',
        });
        // The replicas that do not own it read the same from the store, as the trigger answered.
        for (const view of others) expect(differences(view[loop], reference)).toEqual([]);
        expect(differences(answer, reference)).toEqual([]);
        // The owner shows its own status: the same owner and state, and the run it counted.
        const own = views[samples.indexOf(owner)][loop];
        expect(differences(own, reference, ['owner', 'state', 'placement'])).toEqual([]);
        expect(differences(own, reference, ['iterations', 'lastStartedAt', 'lastEndedAt'])).toEqual(
          [],
        );
        expect(own.reportedAt).toBeUndefined();
      }
      for (const list of views) expect(Object.keys(list).sort()).toEqual([...LOOPS].sort());
    }, 60_000);
  });
});
