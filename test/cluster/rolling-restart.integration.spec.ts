import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { DATABASE_URL, REDIS_URL, describeWith, unique, until } from '../leader/servers.js';

/*
 * The rolling deploy, as processes on the real Redis and PostgreSQL: three replicas of
 * the fixture app (test/cluster/fixture/replica.mjs, HOURLY=1: a 1 h sliding loop spread and
 * one placed on the leader, beside 20 spread loops of 1 s), each SIGTERMed in turn and replaced
 * by a new one. Each hourly loop moves at least once, to a new owner or leader, and runs zero
 * extra times: one run in all, and the owner at the end plans the next an hour after it.
 */

const fixture = fileURLToPath(new URL('./fixture/replica.mjs', import.meta.url));
const HOUR = 3_600_000;
const HOURLY = { 'hourly-spread': -1, 'hourly-leader': -2 } as const;
type Hourly = keyof typeof HOURLY;

interface Run {
  loop: number;
  identity: string;
  start: number;
  end: number;
}
interface Status {
  at: number;
  hourly: Partial<Record<Hourly, number | null>>;
}

class Replica {
  readonly child: ChildProcess;
  output = '';
  status: Status | undefined = undefined;
  ready = false;
  readonly exited: Promise<number | null>;

  constructor(
    readonly identity: string,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, [fixture], {
      env: { ...process.env, ...env, IDENTITY: identity, LOOPS: '20', HOURLY: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.output += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('@@')) continue;
        const event = JSON.parse(line.slice(2)) as { event: string } & Status;
        if (event.event === 'ready') this.ready = true;
        if (event.event === 'status') this.status = event;
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
}

interface Backend {
  env: Record<string, string>;
  setup(): Promise<void>;
  runs(): Promise<Run[]>;
  cleanup(): Promise<void>;
}

function redisBackend(): Backend {
  const prefix = unique('nw-roll:');
  const down = unique('nw-roll-down:');
  const admin = new Redis(REDIS_URL);
  return {
    env: {
      STORE: 'redis',
      STORE_URL: REDIS_URL,
      DOWN_URL: REDIS_URL,
      PREFIX: prefix,
      DOWN: down,
      CLUSTER: 'roll',
    },
    setup: async () => undefined,
    runs: async () =>
      (await admin.lrange(`${down}:runs`, 0, -1)).map((line) => JSON.parse(line) as Run),
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
  const table = unique('nw_roll_');
  const down = unique('nw_rdown_');
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  pool.on('error', () => undefined);
  return {
    env: {
      STORE: 'postgres',
      STORE_URL: DATABASE_URL,
      DOWN_URL: DATABASE_URL,
      TABLE: table,
      DOWN: down,
      CLUSTER: 'roll',
    },
    setup: async () => {
      await pool.query(
        `CREATE TABLE ${down}_runs (id bigserial PRIMARY KEY, loop int NOT NULL,
           identity text NOT NULL, token bigint, start_ms bigint NOT NULL, end_ms bigint NOT NULL,
           done_ms bigint NOT NULL, written boolean, aborted boolean NOT NULL)`,
      );
      await pool.query(`CREATE TABLE ${down}_fence (loop int PRIMARY KEY, token bigint NOT NULL)`);
    },
    runs: async () => {
      const { rows } = await pool.query<Record<string, string>>(
        `SELECT loop, identity, start_ms, end_ms FROM ${down}_runs ORDER BY id`,
      );
      return rows.map((r) => ({
        loop: Number(r.loop),
        identity: r.identity,
        start: Number(r.start_ms),
        end: Number(r.end_ms),
      }));
    },
    cleanup: async () => {
      const { rows } = await pool.query<{ name: string }>(
        `SELECT quote_ident(relname) AS name FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace
         WHERE nspname = current_schema() AND relkind = 'r'
           AND (starts_with(relname, $1) OR starts_with(relname, $2))`,
        [table, down],
      );
      for (const { name } of rows) await pool.query(`DROP TABLE IF EXISTS ${name} CASCADE`);
      await pool.end();
    },
  };
}

describe.each([
  ['redis', redisBackend, await describeWith('redis')],
  ['postgres', postgresBackend, await describeWith('postgres')],
] as const)('%s: a rolling restart of 3 replicas', (kind, makeBackend, describeIf) => {
  describeIf('1 h loops', () => {
    let backend: Backend;
    const replicas: Replica[] = [];

    beforeAll(async () => {
      backend = makeBackend();
      await backend.setup();
    });
    afterAll(async () => {
      for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL');
      await Promise.all(replicas.map((r) => r.exited));
      await backend.cleanup();
    }, 30_000);

    const live = () => replicas.filter((r) => r.child.exitCode === null && !r.child.killed);
    async function start(identity: string): Promise<Replica> {
      const r = new Replica(identity, backend.env);
      replicas.push(r);
      await until(`${identity} ready`, () => (r.ready ? true : undefined), 20_000);
      return r;
    }
    /** The live replica running `loop` now (by a status at most 300 ms old), and its plan. */
    async function ownerOf(loop: Hourly): Promise<{ replica: Replica; next: number | null }> {
      return until(
        `an owner of ${loop}`,
        () => {
          const owners = live().filter(
            (r) =>
              r.status !== undefined && Date.now() - r.status.at < 300 && loop in r.status.hourly,
          );
          return owners.length === 1
            ? { replica: owners[0], next: owners[0].status!.hourly[loop]! }
            : undefined;
        },
        15_000,
      );
    }

    it('each hourly loop moves and runs zero extra times; the last owner plans its next run an hour after the first', async () => {
      for (let i = 0; i < 3; i++) await start(`${kind}-r${i}`);
      const first = new Map<Hourly, Replica>();
      for (const loop of Object.keys(HOURLY) as Hourly[])
        first.set(loop, (await ownerOf(loop)).replica);
      for (let i = 0; i < 3; i++) {
        const old = replicas[i];
        old.child.kill('SIGTERM');
        expect(await old.exited).toBe(0);
        await start(`${kind}-r${i}-v2`);
        for (const loop of Object.keys(HOURLY) as Hourly[]) await ownerOf(loop);
      }
      // Every original replica is gone: each hourly loop moved at least once.
      const runs = await backend.runs();
      for (const loop of Object.keys(HOURLY) as Hourly[]) {
        const { replica, next } = await ownerOf(loop);
        expect(replica).not.toBe(first.get(loop));
        const theirs = runs.filter((r) => r.loop === HOURLY[loop]);
        expect({ loop, runs: theirs.length }).toEqual({ loop, runs: 1 });
        // Wall-clock times of two processes: within a second.
        expect(Math.abs(next! - (theirs[0].end + HOUR))).toBeLessThan(1000);
      }
      expect(
        live()
          .map((r) => r.output)
          .join('\n'),
      ).not.toMatch(/Unhandled|TypeError/);
    }, 120_000);
  });
});
