import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { CLUSTER } from '../../lib/redis/redis-cluster-lua.js';
import { CLAIM } from '../../lib/redis/redis-cluster-scripts.js';
import { FaultProxy } from '../leader/fault-proxy.js';
import { DATABASE_URL, REDIS_URL, describeWith, unique, until } from '../leader/servers.js';

/*
 * Spread loops on the real Redis and PostgreSQL: replicas of a fixture app
 * (test/cluster/fixture/replica.mjs) as separate processes, 500 spread loops (period 1 s, runs of
 * 50-100 ms), lease 1s, renew deadline 600ms, retry 150ms. Each replica reaches the store through
 * a FaultProxy of its own (to freeze or cut its store at a chosen moment); the downstream that
 * takes each run's fenced write, and the run records, are reached directly.
 *
 * One cluster per store goes through the scenarios in order (join, SIGKILL, SIGSTOP, SIGTERM,
 * store faults), each starting from a steady state: every live replica reports, and the loops
 * they own add up to all 500, each once. After every scenario, per loop: no two runs of different
 * replicas overlap unless the earlier one's fenced write was refused, and tokens increase from
 * one owner to the next. Measured times are printed.
 */

const LEASE = 1000;
const RENEW = 600;
const RETRY = 150;
/** The fixture's shutdownTimeout. */
const SHUTDOWN = 2000;
/** Process start-up, event-loop, pipe and scheduling delays on a shared 2-core machine. */
const SLACK = 300;
const LOOPS = 500;
const PERIOD = 1000;
/** How soon a dead member's loops run elsewhere. */
const FAILOVER = LEASE + 2.2 * RETRY;
const fixture = fileURLToPath(new URL('./fixture/replica.mjs', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One run, as the replica recorded it. */
interface Run {
  loop: number;
  identity: string;
  token: number | null;
  start: number;
  /** When its fenced write was sent: the run's last act. */
  end: number;
  /** When the write answered and the run returned (what the next run's wait counts from). */
  done: number;
  /** Whether the downstream took the write; `null` if the write failed. */
  written: boolean | null;
  aborted: boolean;
}

interface Status {
  owned: number[];
  inFlight: number;
  at: number;
  /** When this process read it. */
  received: number;
}

class Replica {
  readonly child: ChildProcess;
  readonly events: { event: string; at: number }[] = [];
  /** When its event loop stood still (its own measure, every 50 ms). */
  readonly stalls: { from: number; to: number }[] = [];
  status: Status | undefined = undefined;
  output = '';
  /** SIGSTOP'd: not expected to report. */
  stopped = false;
  /** Killed or stopped by the test: its exit is no crash. */
  expectExit = false;
  readonly exited: Promise<number | null>;

  constructor(
    readonly identity: string,
    env: Record<string, string>,
    readonly proxy: FaultProxy,
  ) {
    this.child = spawn(process.execPath, [fixture], {
      env: { ...process.env, ...env, IDENTITY: identity },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('@@')) {
          this.output += `${line}\n`;
          continue;
        }
        const event = JSON.parse(line.slice(2)) as {
          event: string;
          at: number;
          since: number;
        } & Status;
        if (event.event === 'status') this.status = { ...event, received: Date.now() };
        else if (event.event === 'stall') this.stalls.push({ from: event.since, to: event.at });
        else this.events.push(event);
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): number {
    const at = Date.now();
    if (signal !== 'SIGCONT') this.expectExit ||= signal !== 'SIGSTOP';
    this.stopped = signal === 'SIGSTOP';
    this.child.kill(signal);
    return at;
  }
}

interface Backend {
  /** The server's port, for the replicas' proxies. */
  port: number;
  /** What a replica sends to claim loops (and nothing else it sends matches). */
  claimPattern: RegExp;
  /** The fixture's environment, its store reached on `proxyPort`. */
  env(proxyPort: number): Record<string, string>;
  setup(): Promise<void>;
  /** The runs recorded since the last call. */
  fetch(): Promise<Run[]>;
  cleanup(): Promise<void>;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function proxied(url: string, port: number): string {
  const u = new URL(url);
  u.host = `127.0.0.1:${port}`;
  return u.toString();
}

function redisBackend(): Backend {
  const prefix = `${unique('nestjs-wait-cluster:')}:`;
  const down = unique('nestjs-wait-cluster-down:');
  const admin = new Redis(REDIS_URL);
  let read = 0;
  return {
    port: Number(new URL(REDIS_URL).port || 6379),
    // The claim script's first line after the prelude all cluster scripts share, sent with EVAL.
    claimPattern: new RegExp(escape(CLAIM.slice(CLUSTER.length).trim().split('\n')[0])),
    env: (port) => ({
      STORE: 'redis',
      STORE_URL: proxied(REDIS_URL, port),
      DOWN_URL: REDIS_URL,
      PREFIX: prefix,
      DOWN: down,
      CLUSTER: 'spread',
    }),
    setup: async () => undefined,
    fetch: async () => {
      const lines = await admin.lrange(`${down}:runs`, read, -1);
      read += lines.length;
      return lines.map((line) => JSON.parse(line) as Run);
    },
    cleanup: async () => {
      for (const p of [prefix, down]) {
        const keys = await admin.keys(`${p}*`);
        if (keys.length > 0) await admin.del(...keys);
      }
      admin.disconnect();
    },
  };
}

function postgresBackend(): Backend {
  const table = unique('nw_cproc_');
  const down = unique('nw_cdown_');
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  pool.on('error', () => undefined);
  const seen = new Set<number>();
  let last = 0;
  return {
    port: Number(new URL(DATABASE_URL).port || 5432),
    // The claim statement's text (lib/postgres/postgres-claim-statements.ts), sent with each call.
    claimPattern: /plan AS MATERIALIZED/,
    env: (port) => ({
      STORE: 'postgres',
      STORE_URL: proxied(DATABASE_URL, port),
      DOWN_URL: DATABASE_URL,
      TABLE: table,
      DOWN: down,
      CLUSTER: 'spread',
    }),
    setup: async () => {
      await pool.query(
        `CREATE TABLE ${down}_runs (id bigserial PRIMARY KEY, loop int NOT NULL,
           identity text NOT NULL, token bigint, start_ms bigint NOT NULL, end_ms bigint NOT NULL,
           done_ms bigint NOT NULL, written boolean, aborted boolean NOT NULL)`,
      );
      await pool.query(`CREATE TABLE ${down}_fence (loop int PRIMARY KEY, token bigint NOT NULL)`);
    },
    fetch: async () => {
      // Ids are taken before commit: read again a little behind the last one seen.
      const { rows } = await pool.query<Record<string, string | number | boolean | null>>(
        `SELECT * FROM ${down}_runs WHERE id > $1 ORDER BY id`,
        [last - 500],
      );
      const runs: Run[] = [];
      for (const row of rows) {
        const id = Number(row.id);
        if (seen.has(id)) continue;
        seen.add(id);
        last = Math.max(last, id);
        runs.push({
          loop: Number(row.loop),
          identity: String(row.identity),
          token: row.token === null ? null : Number(row.token),
          start: Number(row.start_ms),
          end: Number(row.end_ms),
          done: Number(row.done_ms),
          written: row.written as boolean | null,
          aborted: row.aborted as boolean,
        });
      }
      return runs;
    },
    cleanup: async () => {
      // The store's tables (whatever it named them after `table`) and the downstream's.
      for (const kind of ['r', 'S']) {
        const { rows } = await pool.query<{ name: string }>(
          `SELECT quote_ident(relname) AS name FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace
           WHERE nspname = current_schema() AND relkind = $1
             AND (starts_with(relname, $2) OR starts_with(relname, $3))`,
          [kind, table, down],
        );
        const what = kind === 'r' ? 'TABLE' : 'SEQUENCE';
        for (const { name } of rows) await pool.query(`DROP ${what} IF EXISTS ${name} CASCADE`);
      }
      await pool.end();
    },
  };
}

/** The `q` quantile of `values` (nearest rank). */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

function byLoop(runs: readonly Run[]): Map<number, Run[]> {
  const loops = new Map<number, Run[]>();
  for (const run of runs) {
    let list = loops.get(run.loop);
    if (list === undefined) loops.set(run.loop, (list = []));
    list.push(run);
  }
  for (const list of loops.values()) list.sort((a, b) => a.start - b.start);
  return loops;
}

/** The shortest stall of a replica's event loop that can let a run outlive its lease unaborted. */
const STALL = LEASE - RENEW - 100;

/** The outcome of {@link checkSafety}. */
interface Safety {
  /** Overlaps whose earlier run's write was refused. */
  fenced: number;
  /**
   * Overlaps whose earlier run was on a replica whose event loop stood still for at least
   * {@link STALL} ms during it (the machine starved it: a pause as a SIGSTOP, no fault of the
   * library), with its write taken because the new owner had not written yet.
   */
  stalled: string[];
}

/**
 * Per loop: two runs of different replicas overlap only when the earlier one had a lower token
 * and its fenced write was refused (a replica paused past its lease), or, reported apart, when
 * its replica was measured stalled past the lease during it; no two runs of one replica overlap;
 * tokens increase from one owner to the next.
 */
function checkSafety(
  runs: readonly Run[],
  stalls: (identity: string) => readonly { from: number; to: number }[],
): Safety {
  const problems: string[] = [];
  const safety: Safety = { fenced: 0, stalled: [] };
  for (const [loop, list] of byLoop(runs)) {
    for (let i = 0; i < list.length; i++) {
      const a = list[i];
      if (a.token === null) problems.push(`loop-${loop}: a run without a token`);
      const before = list[i - 1];
      if (before !== undefined && before.identity !== a.identity && !(a.token! > before.token!)) {
        problems.push(`loop-${loop}: token ${before.token} then ${a.token} on another owner`);
      }
      for (let j = i + 1; j < list.length && list[j].start < a.end; j++) {
        const b = list[j];
        const show = `${a.identity} [${a.start}, ${a.end}] token ${a.token} written ${a.written}; ${b.identity} [${b.start}, ${b.end}] token ${b.token}`;
        const stall = stalls(a.identity).find(
          (s) => s.to - s.from >= STALL && s.from < a.end && s.to > a.start,
        );
        if (a.identity === b.identity) {
          problems.push(`loop-${loop}: two runs on one replica: ${show}`);
        } else if (a.token! < b.token! && a.written === false) {
          safety.fenced++;
        } else if (a.token! < b.token! && stall !== undefined) {
          safety.stalled.push(
            `loop-${loop}: ${show}; ${a.identity} stalled [${stall.from}, ${stall.to}]`,
          );
        } else {
          problems.push(`loop-${loop}: overlap not fenced: ${show}`);
        }
      }
    }
  }
  expect(problems.slice(0, 10)).toEqual([]);
  return safety;
}

/** Consecutive runs of a loop on two replicas, the later one starting at or after `from`. */
function moves(runs: readonly Run[], from: number): { prev: Run; next: Run }[] {
  const found: { prev: Run; next: Run }[] = [];
  for (const list of byLoop(runs).values()) {
    for (let i = 1; i < list.length; i++) {
      const [prev, next] = [list[i - 1], list[i]];
      if (next.start >= from && prev.identity !== next.identity) found.push({ prev, next });
    }
  }
  return found;
}

/** How much later than its turn (the previous run's return + the period) a run started. */
const lateness = ({ prev, next }: { prev: Run; next: Run }) => next.start - (prev.done + PERIOD);

const measured: string[] = [];
// This process's own stalls: the replicas' store traffic goes through its proxies.
const stalls: number[] = [];
let beat = Date.now();
const monitor = setInterval(() => {
  const now = Date.now();
  if (now - beat > 150) stalls.push(now - beat - 50);
  beat = now;
}, 50);
afterAll(() => {
  clearInterval(monitor);
  if (stalls.length > 0)
    measured.push(
      `the test process stalled ${stalls.length} times, at most ${Math.max(...stalls)} ms`,
    );
  if (measured.length > 0) console.log(`Cluster, measured:\n  ${measured.join('\n  ')}`);
});

const stores: [string, () => Backend, jest.Describe][] = [
  ['redis', redisBackend, await describeWith('redis')],
  ['postgres', postgresBackend, await describeWith('postgres')],
];

describe.each(stores)(
  '%s: replica processes sharing 500 spread loops',
  (kind, makeBackend, describeIt) => {
    describeIt('scenarios in order on one cluster', () => {
      let backend: Backend;
      const replicas: Replica[] = [];
      const runs: Run[] = [];
      let synced = 0;
      let syncing: Promise<void> | undefined;
      /** Fenced overlaps so far: only a replica paused past its lease makes them. */
      let fenced = 0;

      /** Overlaps with a stalled replica so far, each reported once. */
      const stalled = new Set<string>();

      /**
       * {@link checkSafety} over every run so far; `expected` checks the new fenced overlaps.
       * Overlaps after a stall of the machine are printed, not failed.
       */
      function safe(expected: (count: number) => void = (count) => expect(count).toBe(0)): number {
        const stallsOf = (identity: string) =>
          replicas.find((r) => r.identity === identity)?.stalls ?? [];
        const result = checkSafety(runs, stallsOf);
        const added = result.fenced - fenced;
        expected(added);
        fenced = result.fenced;
        const fresh = result.stalled.filter((o) => !stalled.has(o));
        for (const o of fresh) stalled.add(o);
        if (fresh.length > 0) {
          measured.push(
            `${kind}: ${fresh.length} overlaps after a replica's event loop stood still >= ${STALL} ms (the machine starved it; its write went first), e.g. ${fresh[0]}`,
          );
        }
        return added;
      }

      /** Reads the new run records (at most every 80 ms; concurrent callers share one read). */
      function sync(): Promise<void> {
        if (syncing !== undefined) return syncing;
        if (Date.now() - synced < 80) return Promise.resolve();
        syncing = backend
          .fetch()
          .then((fresh) => void runs.push(...fresh))
          .finally(() => {
            synced = Date.now();
            syncing = undefined;
          });
        return syncing;
      }
      /** Waits for the runs in flight and the records batched (50 ms) to be read. */
      async function settle(): Promise<void> {
        await sleep(250);
        synced = 0;
        await sync();
      }

      async function start(options: { frozen?: boolean } = {}): Promise<Replica> {
        const proxy = await FaultProxy.start(backend.port);
        if (options.frozen === true) proxy.freeze();
        const replica = new Replica(`${kind}-${replicas.length}`, backend.env(proxy.port), proxy);
        replicas.push(replica);
        return replica;
      }

      const live = () => replicas.filter((r) => r.alive && !r.stopped);

      /**
       * Waits until `count` replicas run, each reporting (every 200 ms), and the loops they own add
       * up to all of them, each once, unchanged for 600 ms. Answers who owns what.
       */
      function steady(count: number): Promise<Map<Replica, Set<number>>> {
        let since = 0;
        let key = '';
        return until(
          `${count} replicas owning all ${LOOPS} loops`,
          () => {
            const now = Date.now();
            const members = live();
            const fresh = members.every((r) => r.status && now - r.status.received < 500);
            const owned = new Set(members.flatMap((r) => r.status?.owned ?? []));
            const total = members.reduce((n, r) => n + (r.status?.owned.length ?? 0), 0);
            if (members.length !== count || !fresh || owned.size !== LOOPS || total !== LOOPS) {
              key = '';
              return undefined;
            }
            const now_ = members.map((r) => r.status!.owned.join(',')).join(';');
            if (now_ !== key) [key, since] = [now_, now];
            if (now - since < 600) return undefined;
            return new Map(members.map((r) => [r, new Set(r.status!.owned)]));
          },
          20_000,
        );
      }

      /** Per loop of `loops`, the first run started at or after `from` by another than `not`. */
      async function firstRunsElsewhere(
        loops: ReadonlySet<number>,
        from: number,
        not: Replica,
        what: string,
        accept: (run: Run) => boolean = () => true,
      ): Promise<Map<number, Run>> {
        const pick = (): Map<number, Run> => {
          const first = new Map<number, Run>();
          for (const r of runs) {
            if (!loops.has(r.loop) || r.identity === not.identity || r.start < from) continue;
            if (accept(r) && r.start < (first.get(r.loop)?.start ?? Infinity)) first.set(r.loop, r);
          }
          return first;
        };
        await until(
          what,
          async () => {
            await sync();
            return pick().size === loops.size ? true : undefined;
          },
          15_000,
        );
        await settle(); // a run of another replica recorded late may be earlier
        return pick();
      }

      /** No replica crashed or logged an error of the downstream or an unhandled rejection. */
      function expectNoCrash(): void {
        expect(replicas.filter((r) => !r.alive && !r.expectExit).map((r) => r.output)).toEqual([]);
        for (const r of replicas) {
          expect(r.output).not.toMatch(
            /Unhandled|TypeError|fenced write of|run records not written/,
          );
        }
      }

      const ms = (values: number[]) =>
        `p50 ${quantile(values, 0.5)} ms, p99 ${quantile(values, 0.99)} ms, max ${Math.max(...values)} ms`;

      beforeAll(async () => {
        backend = makeBackend();
        await backend.setup();
        // One after another: three processes booting at once starve a 2-core machine.
        for (let i = 0; i < 3; i++) {
          const r = await start();
          await until(
            'a replica ready',
            () => (r.events.some((e) => e.event === 'ready') ? true : undefined),
            20_000,
          );
        }
        await steady(3);
      }, 60_000);

      afterEach(() => {
        // A failed scenario must not leave the next one frozen.
        for (const r of replicas) {
          r.proxy.thaw();
          if (r.stopped && r.alive) r.signal('SIGCONT');
        }
      });

      afterAll(async () => {
        for (const r of replicas) if (r.alive) r.child.kill('SIGKILL');
        await Promise.all(replicas.map((r) => r.exited));
        // Each replica's log, for a failure's evidence.
        const dir = mkdtempSync(join(tmpdir(), `nestjs-wait-cluster-${kind}-`));
        for (const r of replicas) writeFileSync(join(dir, `${r.identity}.log`), r.output);
        if (process.env.KEEP_RUNS) writeFileSync(join(dir, 'runs.json'), JSON.stringify(runs));
        measured.push(`${kind}: replica logs and runs in ${dir}`);
        for (const r of replicas) {
          r.proxy.thaw();
          await r.proxy.close();
        }
        await backend?.cleanup();
      }, 30_000);

      it('steady state: every loop runs, on one replica; the busiest owns at most 1.15x the mean', async () => {
        const owners = await steady(3);
        const from = Date.now();
        await sleep(2200);
        const to = Date.now();
        await settle();
        const window = runs.filter((r) => r.start >= from && r.start < to);
        const loops = byLoop(window);
        expect(loops.size).toBe(LOOPS);
        const ownerOf = new Map<number, string>();
        for (const [r, owned] of owners) for (const loop of owned) ownerOf.set(loop, r.identity);
        for (const [loop, list] of loops) {
          expect({ loop, runners: [...new Set(list.map((r) => r.identity))] }).toEqual({
            loop,
            runners: [ownerOf.get(loop)],
          });
        }
        const counts = [...owners.values()].map((s) => s.size);
        const mean = LOOPS / counts.length;
        expect(Math.max(...counts)).toBeLessThanOrEqual(1.15 * mean);
        const late = [...loops.values()].flatMap((list) =>
          list.slice(1).map((next, i) => lateness({ prev: list[i], next })),
        );
        measured.push(
          `${kind}: steady: 3 replicas own ${counts.join('/')} loops (busiest ${(Math.max(...counts) / mean).toFixed(3)}x the mean, bound 1.15x); ${window.length} runs in ${to - from} ms; each run after its turn: ${ms(late)}`,
        );
        safe();
        expectNoCrash();
      }, 60_000);

      it('a replica joins: it takes its share; moved loops run again within 1 s of their turn; no overlap', async () => {
        await steady(3);
        const joinedAt = Date.now();
        const joiner = await start();
        const owners = await steady(4);
        await sleep(1200); // every moved loop has run again
        await settle();
        const mean = LOOPS / 4;
        const counts = [...owners.values()].map((s) => s.size);
        expect(owners.get(joiner)!.size).toBeGreaterThanOrEqual(0.8 * mean);
        expect(Math.max(...counts)).toBeLessThanOrEqual(1.15 * mean);
        const moved = moves(runs, joinedAt);
        for (const loop of owners.get(joiner)!) {
          expect(
            moved.some((m) => m.next.loop === loop && m.next.identity === joiner.identity),
          ).toBe(true);
        }
        const late = moved.map(lateness);
        measured.push(
          `${kind}: join: the 4th replica owns ${owners.get(joiner)!.size} (mean ${mean}); ${moved.length} moves, each run after its turn: ${ms(late)} (bound 1000 ms)`,
        );
        expect(Math.max(...late)).toBeLessThanOrEqual(1000);
        safe();
        expectNoCrash();
      }, 60_000);

      it('SIGKILL: all its loops run elsewhere within leaseDuration + 2.2 x retryPeriod', async () => {
        const owners = await steady(4);
        const victim = live()[1];
        const theirs = owners.get(victim)!;
        expect(theirs.size).toBeGreaterThan(0);
        const killedAt = victim.signal('SIGKILL');
        const first = await firstRunsElsewhere(theirs, killedAt, victim, 'its loops elsewhere');
        const delays = [...first.values()].map((r) => r.start - killedAt);
        measured.push(
          `${kind}: SIGKILL of a replica owning ${theirs.size} loops: they ran elsewhere ${ms(delays)} after it (bound ${FAILOVER} ms + ${SLACK} ms slack)`,
        );
        expect(Math.max(...delays)).toBeLessThanOrEqual(FAILOVER + SLACK);
        // None moved before the dead member's lease (renewed every retry period) could have ended.
        expect(Math.min(...delays)).toBeGreaterThanOrEqual(LEASE - RETRY - 100);
        await steady(3);
        await settle();
        safe();
        expectNoCrash();
      }, 60_000);

      it('SIGSTOP past the lease, then SIGCONT: its loops move; its runs in flight have their fenced writes refused', async () => {
        const owners = await steady(3);
        const victim = live()[0];
        const theirs = owners.get(victim)!;
        expect(theirs.size).toBeGreaterThan(0);
        await until('the victim with runs in flight', () =>
          victim.status!.inFlight >= 3 && Date.now() - victim.status!.received < 10
            ? true
            : undefined,
        );
        const pausedAt = victim.signal('SIGSTOP');
        // Resumed once another owner of each of its loops has run and written: a write of the
        // paused run that lands after that is refused.
        const moved = await firstRunsElsewhere(
          theirs,
          pausedAt,
          victim,
          'its loops run and written elsewhere',
          (r) => r.written === true,
        );
        const mark = victim.output.length;
        const resumedAt = victim.signal('SIGCONT');
        expect(resumedAt - pausedAt).toBeGreaterThan(LEASE);
        await until('the victim back with a new session', () =>
          /Lost the member lease/.test(victim.output.slice(mark)) ? true : undefined,
        );
        await steady(3);
        await settle();
        const across = runs.filter(
          (r) => r.identity === victim.identity && r.start < pausedAt && r.end > resumedAt,
        );
        // Runs last 50 to 100 ms and the status is a snapshot: the pause can miss them (once in
        // 7 runs here). Said, not failed: the overlap check below covers whatever did cross it,
        // and FakeCluster's pause test hits a run in flight every time.
        if (across.length === 0) measured.push(`${kind}: SIGSTOP: no run was in flight across it`);
        expect(across.filter((r) => r.written !== false)).toEqual([]);
        // Nothing of it started while it could not know it had lost its loops. A SIGSTOP stops
        // the process a little after kill() returns: a run that started in those few ms started
        // while its lease held (one did, its write refused, in 1 of 5 runs).
        const STOPPED = 50;
        expect(
          runs.filter(
            (r) =>
              r.identity === victim.identity &&
              r.start >= pausedAt + STOPPED &&
              r.start < resumedAt,
          ),
        ).toEqual([]);
        const overlaps = safe((count) => expect(count).toBeGreaterThanOrEqual(across.length));
        const delays = [...moved.values()].map((r) => r.start - pausedAt);
        measured.push(
          `${kind}: SIGSTOP for ${resumedAt - pausedAt} ms of a replica owning ${theirs.size} loops: they ran elsewhere ${ms(delays)} after it; ${across.length} of its runs were in flight across the pause, all ${across.length} writes refused; ${overlaps} fenced overlaps`,
        );
        expectNoCrash();
      }, 60_000);

      it('SIGTERM: its loops run again elsewhere within 1 s of their turn', async () => {
        const owners = await steady(3);
        const victim = live()[0];
        const theirs = owners.get(victim)!;
        expect(theirs.size).toBeGreaterThan(0);
        const termAt = victim.signal('SIGTERM');
        const first = await firstRunsElsewhere(theirs, termAt, victim, 'its loops elsewhere');
        expect(await victim.exited).toBe(0);
        expect(victim.output).toMatch(/Left the cluster/);
        const last = new Map<number, Run>();
        for (const r of runs) if (r.identity === victim.identity) last.set(r.loop, r);
        const late = [...first.values()].map((next) =>
          lateness({ prev: last.get(next.loop)!, next }),
        );
        const since = [...first.values()].map((r) => r.start - termAt);
        const closed = victim.events.find((e) => e.event === 'closed') as { took?: number };
        measured.push(
          `${kind}: SIGTERM of a replica owning ${theirs.size} loops (closed in ${closed?.took} ms): each ran elsewhere after its turn ${ms(late)} (bound 1000 ms); after the SIGTERM ${ms(since)}`,
        );
        expect(Math.max(...late)).toBeLessThanOrEqual(1000);
        safe();
        expectNoCrash();
      }, 60_000);

      it('store frozen while a replica connects: it runs nothing, nobody crashes; thawed, it joins', async () => {
        await steady(2);
        const joiner = await start({ frozen: true });
        await until('its store calls failing', () =>
          /heartbeat/.test(joiner.output) && joiner.status !== undefined ? true : undefined,
        );
        await sleep(LEASE); // its calls held that long arrive after their deadlines
        expect(joiner.status!.owned).toEqual([]);
        const thawedAt = Date.now();
        joiner.proxy.thaw();
        const owners = await steady(3);
        const joined = Date.now() - thawedAt;
        await settle();
        expect(runs.filter((r) => r.identity === joiner.identity && r.start < thawedAt)).toEqual(
          [],
        );
        expect(owners.get(joiner)!.size).toBeGreaterThan(0);
        measured.push(
          `${kind}: store frozen while connecting: joined and steady ${joined} ms after the thaw, owning ${owners.get(joiner)!.size}`,
        );
        safe();
        expectNoCrash();
      }, 60_000);

      it('store frozen inside a claim: the loops handed to the joiner come back after its lease; its late claim takes nothing', async () => {
        await steady(3);
        const joiner = await start();
        await joiner.proxy.freezeOn(backend.claimPattern);
        const frozenAt = Date.now();
        // The others saw it join and handed it its share, which it never claimed: once its lease
        // has ended, they own every loop again (the joiner, still running, none).
        const owners = await steady(4);
        const back = Date.now() - frozenAt;
        await sleep(LEASE); // its claim, held that long, arrives after its deadline
        const thawedAt = Date.now();
        joiner.proxy.thaw();
        const after = await steady(4);
        await settle();
        expect(owners.get(joiner)!.size).toBe(0);
        expect(runs.filter((r) => r.identity === joiner.identity && r.start < thawedAt)).toEqual(
          [],
        );
        expect(after.get(joiner)!.size).toBeGreaterThan(0);
        // Each loop's runs during the freeze: those handed to the joiner and back ran late.
        const gaps: number[] = [];
        for (const list of byLoop(runs).values()) {
          for (let i = 1; i < list.length; i++) {
            const next = list[i];
            if (next.start > frozenAt && next.start < thawedAt)
              gaps.push(lateness({ prev: list[i - 1], next }));
          }
        }
        const handed = gaps.filter((g) => g > 200);
        measured.push(
          `${kind}: store frozen inside a joiner's claim: the others owned all loops again ${back} ms after the freeze; ${handed.length} loops handed to it and back ran after their turn ${ms(handed)} (bound ${FAILOVER} ms + slack); thawed ${LEASE} ms later, it took ${after.get(joiner)!.size}`,
        );
        // How many of its share came back late depends on how far the hand-over had gone when
        // the claim froze (46 to 129 of 125 in runs on a loaded machine): the scenario happened
        // if some did; the bound on their lateness is what is checked.
        expect(handed.length).toBeGreaterThan(0);
        expect(Math.max(...gaps)).toBeLessThanOrEqual(FAILOVER + SLACK);
        safe();
        expectNoCrash();
      }, 60_000);

      it("store frozen during a member's heartbeat: it stops by the renew deadline, its loops move, it rejoins", async () => {
        const owners = await steady(4);
        const member = live()[1];
        const theirs = owners.get(member)!;
        expect(theirs.size).toBeGreaterThan(0);
        const frozenAt = Date.now();
        member.proxy.freeze(); // a heartbeat is in flight or due within the retry period
        const moved = await firstRunsElsewhere(theirs, frozenAt, member, 'its loops elsewhere');
        const thawedAt = Date.now();
        member.proxy.thaw();
        await steady(4);
        await settle();
        const own = runs.filter((r) => r.identity === member.identity);
        expect(own.filter((r) => r.start > frozenAt + RENEW && r.start < thawedAt)).toEqual([]);
        const stopped = Math.max(
          ...own.filter((r) => r.start <= frozenAt + RENEW).map((r) => r.end - frozenAt),
        );
        expect(stopped).toBeLessThanOrEqual(RENEW + 100);
        const delays = [...moved.values()].map((r) => r.start - frozenAt);
        measured.push(
          `${kind}: store frozen for ${thawedAt - frozenAt} ms under a member owning ${theirs.size}: its last run ended ${stopped} ms into it (renewDeadline ${RENEW} ms); its loops ran elsewhere ${ms(delays)} after the freeze`,
        );
        expect(Math.max(...delays)).toBeLessThanOrEqual(FAILOVER + SLACK);
        safe();
        expectNoCrash();
      }, 60_000);

      it('store frozen during shutdown: SIGTERM exits within shutdownTimeout + retryPeriod; its loops run elsewhere after its lease', async () => {
        const owners = await steady(4);
        const member = live()[2];
        const theirs = owners.get(member)!;
        expect(theirs.size).toBeGreaterThan(0);
        member.proxy.freeze();
        const termAt = member.signal('SIGTERM');
        const code = await Promise.race([member.exited, sleep(8000).then(() => 'still running')]);
        const took = Date.now() - termAt;
        expect(code).toBe(0);
        expect(took).toBeLessThanOrEqual(SHUTDOWN + RETRY + SLACK);
        const moved = await firstRunsElsewhere(theirs, termAt, member, 'its loops elsewhere');
        member.proxy.thaw(); // its last calls reach the server, late
        await sleep(300);
        await steady(3);
        await settle();
        const delays = [...moved.values()].map((r) => r.start - termAt);
        measured.push(
          `${kind}: SIGTERM with its store frozen: exited after ${took} ms (bound ${SHUTDOWN + RETRY} ms + slack); its ${theirs.size} loops ran elsewhere ${ms(delays)} after it`,
        );
        expect(Math.max(...delays)).toBeLessThanOrEqual(FAILOVER + SLACK);
        safe();
        expectNoCrash();
      }, 60_000);

      it("a member's store connections killed again and again: no crash, no overlap, it recovers", async () => {
        await steady(3);
        const member = live()[0];
        const before = member.proxy.connections;
        const end = Date.now() + 1500;
        while (Date.now() < end) {
          member.proxy.killAll();
          await sleep(50);
        }
        const endedAt = Date.now();
        const owners = await steady(3);
        const recovered = Date.now() - endedAt;
        await settle();
        expect(owners.get(member)!.size).toBeGreaterThan(0);
        measured.push(
          `${kind}: store connections of a member killed every 50 ms for 1.5 s (${member.proxy.connections - before} connections): steady again ${recovered} ms after`,
        );
        safe();
        expectNoCrash();
      }, 60_000);

      it('store frozen for everyone: nothing starts past the renew deadline; every loop runs again after the thaw', async () => {
        await steady(3);
        const OUTAGE = 2000;
        const frozenAt = Date.now();
        for (const r of live()) r.proxy.freeze();
        await sleep(OUTAGE);
        const thawedAt = Date.now();
        for (const r of live()) r.proxy.thaw();
        const all = new Set(Array.from({ length: LOOPS }, (_, i) => i));
        const again = await until(
          'every loop run after the thaw',
          async () => {
            await sync();
            const seen = new Set(runs.filter((r) => r.start >= thawedAt).map((r) => r.loop));
            return seen.size === LOOPS ? true : undefined;
          },
          15_000,
        ).then(() => Date.now() - thawedAt);
        await steady(3);
        await settle();
        const during = runs.filter((r) => r.start > frozenAt + RENEW && r.start < thawedAt);
        expect(during).toEqual([]);
        const lastEnd = Math.max(
          ...runs.filter((r) => r.start <= frozenAt + RENEW).map((r) => r.end - frozenAt),
        );
        expect(lastEnd).toBeLessThanOrEqual(RENEW + 100);
        const first = new Map<number, number>();
        for (const r of runs) {
          if (r.start >= thawedAt && !first.has(r.loop)) first.set(r.loop, r.start - thawedAt);
        }
        const delays = [...first.values()];
        measured.push(
          `${kind}: store frozen ${OUTAGE} ms for all: last run ended ${lastEnd} ms into it; after the thaw every loop ran again: ${ms(delays)} (seen within ${again} ms)`,
        );
        // Every member's lease ended: each rejoins at its own time, and the first back claims
        // the loops the others get back once they have rejoined too, so a loop may move twice
        // (1.7 to 2.6 s on PostgreSQL on a loaded machine, against 1.3 s for one failover).
        expect(Math.max(...delays)).toBeLessThanOrEqual(2 * FAILOVER + SLACK);
        expect(all.size).toBe(LOOPS);
        safe();
        expectNoCrash();
      }, 60_000);
    });
  },
);
