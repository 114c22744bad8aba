import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import pg from 'pg';
import { LeaderElector, WaitModule } from '../../lib/index.js';
import { PostgresLeaseStore } from '../../lib/postgres/index.js';
import { RedisLeaseStore } from '../../lib/redis/index.js';
import { FaultProxy } from './fault-proxy.js';
import { DATABASE_URL, REDIS_URL, describeWith, unique, until } from './servers.js';
import { LineLog } from './support.js';

/*
 * Each fault of the chaos run, put at a chosen moment of a store call on the real servers: a
 * statement waiting on a row lock (seen waiting in pg_stat_activity before the lock ends), a
 * connection killed when the client sends a given command (through FaultProxy), a server frozen
 * (its bytes held by the proxy) while a replica shuts down, two replicas creating one row, the
 * store's data lost. Every test would fail on the code before these fixes.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const describeRedis = await describeWith('redis');
const describePostgres = await describeWith('postgres');

/** Unhandled rejections while `run` runs (and a moment after). */
async function unhandledDuring(run: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await run();
    await sleep(100);
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

describePostgres('PostgreSQL: faults inside a statement, while LISTEN runs, at creation', () => {
  const table = unique('nw_fault_');
  const app = unique('nw_fault_app_');
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
  admin.on('error', () => undefined);
  const stores: PostgresLeaseStore[] = [];
  const store = (options: ConstructorParameters<typeof PostgresLeaseStore>[0] = {}) => {
    const made = new PostgresLeaseStore({
      connectionString: DATABASE_URL,
      table,
      config: { application_name: app },
      ...options,
    });
    stores.push(made);
    return made;
  };

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.query(`DROP SEQUENCE IF EXISTS ${table}_token_seq`);
    await admin.end();
  });

  /** Locks lease `name`'s row in a transaction of its own, until the returned function is called. */
  async function lockRow(name: string): Promise<() => Promise<void>> {
    const client = await admin.connect();
    await client.query('BEGIN');
    await client.query(`SELECT * FROM ${table} WHERE name = $1 FOR UPDATE`, [name]);
    return async () => {
      await client.query('ROLLBACK');
      client.release();
    };
  }

  /** Resolves once a statement of the stores is seen waiting on a lock (so, inside it). */
  const waitingOnLock = () =>
    until('a store statement waiting on the row lock', async () => {
      const { rowCount } = await admin.query(
        `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [app],
      );
      return rowCount! > 0 ? true : undefined;
    });

  const row = async (name: string) =>
    (
      await admin.query<{ holder: string; token: string; valid: boolean; left: number }>(
        `SELECT holder, token, expires_at > clock_timestamp() AS valid,
                (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::float8 AS left
         FROM ${table} WHERE name = $1`,
        [name],
      )
    ).rows[0];

  it('an acquire that waited on a row locked past its deadline writes nothing: the holder keeps its term', async () => {
    const alice = store();
    const first = await alice.acquire('lock-a', 'alice', 300);
    if (!first.acquired) throw new Error('not acquired');
    const unlock = await lockRow('lock-a');
    const late = alice.acquire('lock-a', 'alice', 300, { timeout: 200 });
    late.catch(() => undefined);
    await waitingOnLock();
    await sleep(500); // longer than the lease and the call's deadline
    await unlock();
    await expect(late).rejects.toThrow(/after its caller's deadline/);
    // Before: the late acquire took a new term with an expiry already in the past, so another
    // replica could take the lease while this one still led on its first term.
    expect(Number((await row('lock-a')).token)).toBe(first.lease.token);
  });

  it('an acquire that waited on a row lock longer than the lease, still in time, writes an expiry counted from when it took the row', async () => {
    const bob = store();
    await bob.acquire('lock-b', 'alice', 300);
    const unlock = await lockRow('lock-b');
    const taking = bob.acquire('lock-b', 'bob', 300, { timeout: 5000 });
    await waitingOnLock();
    await sleep(600); // alice's term expires meanwhile
    await unlock();
    const result = await taking;
    expect(result.acquired).toBe(true);
    const now = await row('lock-b');
    // Before: acquired with expires_at = statement start + 300 ms, already past.
    expect(now).toMatchObject({ holder: 'bob', valid: true });
    expect(now.left).toBeGreaterThan(150);
  });

  it('a renewal that waited on a row locked past its deadline does not extend the term', async () => {
    const alice = store();
    const taken = await alice.acquire('lock-c', 'alice', 1000);
    if (!taken.acquired) throw new Error('not acquired');
    const unlock = await lockRow('lock-c');
    const renewing = alice.renew('lock-c', taken.lease, 60_000, { timeout: 200 });
    renewing.catch(() => undefined);
    await waitingOnLock();
    await sleep(400);
    await unlock();
    await expect(renewing).rejects.toThrow(/after its caller's deadline/);
    expect((await row('lock-c')).left).toBeLessThan(1000);
  });

  it('two replicas creating a new lease row at once: the loser names the winner, not "a value no elector wrote"', async () => {
    const bob = store();
    await bob.acquire('warm-up', 'bob', 1000); // the table exists
    const other = await admin.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        `INSERT INTO ${table} (name, holder, token, expires_at) VALUES ('race', 'alice', 1, clock_timestamp() + interval '1 minute')`,
      );
      const losing = bob.acquire('race', 'bob', 1000);
      await waitingOnLock(); // bob's insert waits on alice's uncommitted row
      await other.query('COMMIT');
      expect(await losing).toEqual({ acquired: false, holder: 'alice' });
    } finally {
      other.release();
    }
  });

  it('tokens keep growing after the table and its sequence were lost', async () => {
    const before = await store().acquire('lost', 'alice', 1000);
    if (!before.acquired) throw new Error('not acquired');
    await admin.query(`DROP TABLE ${table}`);
    await admin.query(`DROP SEQUENCE ${table}_token_seq`);
    const after = await store().acquire('lost', 'bob', 1000); // a new replica recreates both
    if (!after.acquired) throw new Error('not acquired');
    expect(after.lease.token).toBeGreaterThan(before.lease.token);
  });

  describe('connections killed at a chosen moment (FaultProxy)', () => {
    let proxy: FaultProxy;
    beforeEach(async () => {
      proxy = await FaultProxy.start(Number(new URL(DATABASE_URL).port || 5432));
    });
    afterEach(() => proxy.close());
    const proxied = () => {
      const url = new URL(DATABASE_URL);
      url.host = `127.0.0.1:${proxy.port}`;
      return store({ connectionString: url.toString() });
    };

    it('killed while LISTEN runs: watch() rejects, nothing unhandled, the next watch listens', async () => {
      const s = proxied();
      await s.acquire('warm-up', 'x', 1000); // connected, table made: the LISTEN is what dies
      const unhandled = await unhandledDuring(async () => {
        const killed = proxy.killOn(/LISTEN/);
        await expect(s.watch('l', () => undefined)).rejects.toThrow();
        await killed;
      });
      // Before: lost() chained on the listener promise that was rejecting: unhandled.
      expect(unhandled).toEqual([]);
      const released: string[] = [];
      const watch = await s.watch('l', () => released.push('l'));
      expect(watch.active).toBe(true);
      const taken = await s.acquire('l', 'alice', 1000);
      if (taken.acquired) await s.release('l', taken.lease);
      await until('the release announced', () => (released.length > 0 ? true : undefined));
      await watch.close();
    });

    it.each([
      // The startup message: protocol 3.0 then "user".
      ['while connecting', /^[\s\S]{8}user/, 'acquire'],
      ['inside the acquire statement', /INSERT INTO/, 'acquire'],
      ['inside the renew statement', /ON CONFLICT \(name\) DO UPDATE SET expires_at/, 'renew'],
      ['inside the release statement', /pg_notify/, 'release'],
    ])(
      'killed %s: the call rejects, nothing unhandled, the next call is served',
      async (phase, pattern, op) => {
        const warm = new PostgresLeaseStore({ connectionString: DATABASE_URL, table });
        const first = await warm.acquire(`k-${op}`, 'alice', 5000);
        await warm.close();
        if (!first.acquired) throw new Error('not acquired');
        const s = proxied();
        // A fresh store: its connection's start is the first thing it sends; otherwise the
        // connection is open and the call's statement is the next thing matching.
        if (phase !== 'while connecting') await s.acquire('warm-up', 'alice', 1000);
        const unhandled = await unhandledDuring(async () => {
          const killed = proxy.killOn(pattern);
          const call =
            op === 'acquire'
              ? s.acquire(`k-${op}`, 'alice', 5000)
              : op === 'renew'
                ? s.renew(`k-${op}`, first.lease, 5000)
                : s.release(`k-${op}`, first.lease);
          await expect(call).rejects.toThrow();
          await killed;
        });
        expect(unhandled).toEqual([]);
        const again = await s.acquire(`k-${op}`, 'alice', 5000);
        expect(again.acquired).toBe(true);
      },
    );
  });
});

describeRedis('Redis: a frozen server, a shutdown during it, data lost', () => {
  const prefix = unique('nestjs-wait-fault:');
  const admin = new Redis(REDIS_URL);
  let proxy: FaultProxy;
  const closing: (() => Promise<unknown>)[] = [];
  beforeEach(async () => {
    proxy = await FaultProxy.start(Number(new URL(REDIS_URL).port || 6379));
  });
  afterEach(async () => {
    proxy.thaw();
    await Promise.all(closing.splice(0).map((close) => close()));
    await proxy.close();
  });
  afterAll(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  });
  const proxied = () => {
    const made = new RedisLeaseStore({ url: `redis://127.0.0.1:${proxy.port}`, keyPrefix: prefix });
    closing.push(() => made.close());
    return made;
  };
  const holderOf = async (name: string) => (await admin.get(`${prefix}{${name}}`))?.split(' ')[2];

  it('a command queued on a frozen server does nothing once its caller gave up', async () => {
    const s = proxied();
    const first = await s.acquire('q', 'alice', 300);
    if (!first.acquired) throw new Error('not acquired');
    proxy.freeze();
    const late = s.acquire('q', 'alice', 300, { timeout: 200 });
    late.catch(() => undefined);
    await sleep(500);
    const other = new RedisLeaseStore({ url: REDIS_URL, keyPrefix: prefix });
    closing.push(() => other.close());
    const bob = await other.acquire('q', 'bob', 5000); // alice's term expired meanwhile
    expect(bob.acquired).toBe(true);
    proxy.thaw();
    await expect(late).rejects.toThrow(/after its caller's deadline/);
    // Before: the queued acquire took the lease from bob's fresh term ("held by me" was not
    // even needed: it ran after the thaw as a new term of alice's).
    expect(await holderOf('q')).toBe('bob');
  });

  it('a replica shut down while the server is frozen never holds the lease after the thaw, and stops within its budget', async () => {
    const log = new LineLog();
    const elector = new LeaderElector(
      {
        store: proxied(),
        name: `ghost`,
        identity: 'ex-leader',
        leaseDuration: 1000,
        renewDeadline: 600,
        retryPeriod: 150,
      },
      { logger: log },
    );
    elector.start();
    await until('leading', () => (elector.isLeader ? true : undefined));
    proxy.freeze();
    await until('lost the lease', () => (elector.isLeader ? undefined : true)); // now acquiring
    await sleep(300);
    const began = Date.now();
    elector.retire();
    await elector.stop(true, 200);
    const took = Date.now() - began;
    // Before: the release watch's UNSUBSCRIBE waited for the server: as long as the freeze.
    expect(took).toBeLessThan(200 + 300);
    proxy.thaw();
    await sleep(300);
    // Before: the acquires queued during the freeze ran after the thaw: a ghost holder.
    expect(await holderOf('ghost')).not.toBe('ex-leader');
  });

  it('app.close() while Redis is paused (CLIENT PAUSE, ending by itself) is bounded by shutdownTimeout, and leaves no lease held', async () => {
    const store = new RedisLeaseStore({ url: REDIS_URL, keyPrefix: prefix });
    @Module({
      imports: [
        WaitModule.forRoot({
          shutdownTimeout: 300,
          leaderElection: {
            store,
            name: 'paused',
            identity: 'closing',
            leaseDuration: 1000,
            renewDeadline: 600,
            retryPeriod: 150,
          },
        }),
      ],
    })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    await app.init();
    const elector = app.get(LeaderElector);
    await until('leading', () => (elector.isLeader ? true : undefined));
    const pausedFor = 2500;
    await admin.call('CLIENT', 'PAUSE', String(pausedFor), 'ALL');
    const began = Date.now();
    await sleep(50); // a renewal is on its way into the pause
    await app.close();
    const took = Date.now() - began;
    // Before: about as long as the pause (the release watch's UNSUBSCRIBE waited for Redis).
    expect(took).toBeLessThan(50 + 300 + 150 + 300);
    await until('the pause over', async () => ((await admin.ping()) === 'PONG' ? true : undefined));
    await sleep(100);
    expect(await holderOf('paused')).not.toBe('closing');
  });

  it('tokens keep growing after Redis lost the lease and its token counter', async () => {
    const s = new RedisLeaseStore({ url: REDIS_URL, keyPrefix: prefix });
    closing.push(() => s.close());
    const before = await s.acquire('lost', 'alice', 5000);
    if (!before.acquired) throw new Error('not acquired');
    await admin.del(`${prefix}{lost}`, `${prefix}{lost}:token`);
    const after = await s.acquire('lost', 'bob', 5000);
    if (!after.acquired) throw new Error('not acquired');
    expect(after.lease.token).toBeGreaterThan(before.lease.token);
  });

  it.each([
    ['while connecting (its ready check)', /info/i],
    ['inside the acquire script', /eval/i],
  ])(
    'killed %s: the call settles within its timeout (rejected, or served after a reconnect), nothing unhandled',
    async (_, pattern) => {
      const s = new RedisLeaseStore({
        url: `redis://127.0.0.1:${proxy.port}`,
        keyPrefix: prefix,
        redis: { retryStrategy: () => 20 },
      });
      closing.push(() => s.close());
      const unhandled = await unhandledDuring(async () => {
        const killed = proxy.killOn(pattern);
        const call = s.acquire('kc', 'alice', 1000, { timeout: 1000 }).then(
          (result) => result.acquired,
          () => 'rejected',
        );
        const outcome = await Promise.race([call, sleep(1500).then(() => 'never settled')]);
        expect([true, 'rejected']).toContain(outcome);
        await killed;
      });
      expect(unhandled).toEqual([]);
      const again = await until('served again', () =>
        s.acquire('kc', 'alice', 1000, { timeout: 1000 }).catch(() => undefined),
      );
      expect(again.acquired).toBe(true);
    },
  );
});
