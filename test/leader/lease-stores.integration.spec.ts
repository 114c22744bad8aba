import { Redis } from 'ioredis';
import pg from 'pg';
import { InMemoryLeaseStore, type LeaseStore } from '../../lib/index.js';
import { loadPeer } from '../../lib/leader/optional-peer.js';
import { PostgresLeaseStore } from '../../lib/postgres/index.js';
import { RedisLeaseStore } from '../../lib/redis/index.js';
import { DATABASE_URL, REDIS_URL, describeWith, unique } from './servers.js';

/*
 * The LeaseStore contract, against each store: the in-memory one and the real Redis and
 * PostgreSQL. Each run uses its own key prefix or table and removes them at the end.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Harness {
  store: LeaseStore;
  /** A second replica's store on the same server. */
  other: LeaseStore;
  /** Deletes the lease's key or row behind the store's back. */
  wipe(name: string): Promise<void>;
  /** Writes something that no elector wrote into the lease's key or row. */
  scribble(name: string): Promise<void>;
  cleanup(): Promise<void>;
}

const redisPrefix = unique('nestjs-wait-test:');
const table = unique('nw_test_');
const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
pool.on('error', () => undefined);

const harnesses: Record<string, () => Harness> = {
  memory: () => {
    const store = new InMemoryLeaseStore();
    return {
      store,
      other: store,
      wipe: async (name) => {
        const held = (store as unknown as { leases: Map<string, unknown> }).leases;
        held.delete(name);
      },
      scribble: () => Promise.resolve(),
      cleanup: () => Promise.resolve(),
    };
  },
  redis: () => {
    const store = new RedisLeaseStore({ url: REDIS_URL, keyPrefix: redisPrefix });
    const other = new RedisLeaseStore({ url: REDIS_URL, keyPrefix: redisPrefix });
    return {
      store,
      other,
      wipe: async (name) => void (await admin.del(`${redisPrefix}{${name}}`)),
      scribble: async (name) =>
        void (await admin.set(`${redisPrefix}{${name}}`, 'hello', 'PX', 60_000)),
      cleanup: async () => {
        await Promise.all([store.close(), other.close()]);
        const keys = await admin.keys(`${redisPrefix}*`);
        if (keys.length > 0) await admin.del(...keys);
      },
    };
  },
  postgres: () => {
    const store = new PostgresLeaseStore({ connectionString: DATABASE_URL, table });
    const other = new PostgresLeaseStore({ pool, table });
    return {
      store,
      other,
      wipe: async (name) => void (await pool.query(`DELETE FROM ${table} WHERE name = $1`, [name])),
      scribble: async (name) =>
        void (await pool.query(
          `UPDATE ${table} SET holder = 'someone', token = 1000000, expires_at = clock_timestamp() + interval '1 minute' WHERE name = $1`,
          [name],
        )),
      cleanup: async () => {
        await Promise.all([store.close(), other.close()]);
        await pool.query(`DROP TABLE IF EXISTS ${table}`);
        await pool.query(`DROP SEQUENCE IF EXISTS ${table}_token_seq`);
      },
    };
  },
};

const describeRedis = await describeWith('redis');
const describePostgres = await describeWith('postgres');
const suites: [string, jest.Describe][] = [
  ['memory', describe],
  ['redis', describeRedis],
  ['postgres', describePostgres],
];

afterAll(async () => {
  admin.disconnect();
  await pool.end();
});

describe.each(suites)('%s lease store', (kind, describeIt) => {
  describeIt('contract', () => {
    let h: Harness;
    beforeAll(() => {
      h = harnesses[kind]();
    });
    afterAll(() => h.cleanup());

    it('takes a free lease with a token; another identity finds it held, and by whom', async () => {
      const first = await h.store.acquire('a', 'alice', 5000);
      if (!first.acquired) throw new Error('not acquired');
      expect(first.lease.holder).toBe('alice');
      expect(Number.isSafeInteger(first.lease.token) && first.lease.token > 0).toBe(true);
      expect(await h.other.acquire('a', 'bob', 5000)).toEqual({ acquired: false, holder: 'alice' });
    });

    it('renews only its own term; an expired lease goes to the next taker with a greater token', async () => {
      const taken = await h.store.acquire('b', 'alice', 150);
      if (!taken.acquired) throw new Error('not acquired');
      const lease = taken.lease;
      expect(await h.store.renew('b', lease, 150)).toBe(true);
      expect(await h.store.renew('b', { ...lease, token: lease.token + 1 }, 150)).toBe(false);
      expect(await h.store.renew('b', { ...lease, holder: 'mallory' }, 150)).toBe(false);
      await sleep(250);
      expect(await h.store.renew('b', lease, 150)).toBe(false);
      const next = await h.other.acquire('b', 'bob', 5000);
      expect(next.acquired && next.lease.token).toBeGreaterThan(lease.token);
    });

    it('the holder acquiring again starts a new term: the old term can no longer renew', async () => {
      const one = await h.store.acquire('c', 'alice', 5000);
      const two = await h.store.acquire('c', 'alice', 5000);
      if (!one.acquired || !two.acquired) throw new Error('not acquired');
      expect(two.lease.token).toBeGreaterThan(one.lease.token);
      expect(await h.store.renew('c', one.lease, 5000)).toBe(false);
      expect(await h.store.renew('c', two.lease, 5000)).toBe(true);
    });

    it('release ends the term, is announced to watchers, and only once', async () => {
      const released: string[] = [];
      const watch = await h.other.watch!('d', () => released.push('d'));
      const unrelated = await h.other.watch!('d2', () => released.push('d2'));
      const taken = await h.store.acquire('d', 'alice', 5000);
      if (!taken.acquired) throw new Error('not acquired');
      expect(await h.store.release('d', { ...taken.lease, token: taken.lease.token + 1 })).toBe(
        false,
      );
      expect(await h.store.release('d', taken.lease)).toBe(true);
      expect(await h.store.release('d', taken.lease)).toBe(false);
      for (let i = 0; i < 50 && released.length === 0; i++) await sleep(10);
      expect(released).toEqual(['d']);
      expect((await h.other.acquire('d', 'bob', 5000)).acquired).toBe(true);
      await watch.close();
      await unrelated.close();
    });

    it('tokens keep growing after the lease was deleted behind its back', async () => {
      const one = await h.store.acquire('e', 'alice', 5000);
      await h.wipe('e');
      const two = await h.other.acquire('e', 'bob', 5000);
      if (!one.acquired || !two.acquired) throw new Error('not acquired');
      expect(two.lease.token).toBeGreaterThan(one.lease.token);
    });

    it('of 20 replicas racing for a free lease, exactly one gets it', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? h.store : h.other).acquire('f', `r${i}`, 5000),
        ),
      );
      expect(results.filter((r) => r.acquired)).toHaveLength(1);
    });

    if (kind !== 'memory') {
      it('does not trust or take over a lease written by something else', async () => {
        const taken = await h.store.acquire('g', 'alice', 5000);
        if (!taken.acquired) throw new Error('not acquired');
        await h.scribble('g');
        expect(await h.store.renew('g', taken.lease, 5000)).toBe(false);
        expect(await h.store.release('g', taken.lease)).toBe(false);
        const seen = await h.other.acquire('g', 'bob', 5000);
        expect(seen.acquired).toBe(false);
        expect(seen.acquired ? '' : seen.holder).toBe(kind === 'redis' ? undefined : 'someone');
      });
    }
  });
});

describeRedis('RedisLeaseStore, bad input and unreachable servers', () => {
  it('checks its options at construction', () => {
    expect(() => new RedisLeaseStore({ url: 'http://x' })).toThrow(
      'new RedisLeaseStore(): url must be a redis:// or rediss:// URL; got "http://x"',
    );
  });

  it('an unreachable URL fails each call with the connection error, no crash', async () => {
    const store = new RedisLeaseStore({
      url: 'redis://127.0.0.1:1',
      redis: { retryStrategy: () => 50 },
    });
    await sleep(100);
    await expect(store.acquire('x', 'alice', 1000)).rejects.toThrow(/ECONNREFUSED/);
    await store.close();
  });

  it('wrong credentials fail each call naming the server error', async () => {
    const store = new RedisLeaseStore({ url: 'redis://nobody:wrong@127.0.0.1:6379' });
    await sleep(200);
    await expect(store.acquire('x', 'alice', 1000)).rejects.toThrow(/WRONGPASS|NOAUTH|AUTH/);
    await store.close();
  });
});

describePostgres('PostgresLeaseStore, bad input and unreachable servers', () => {
  it.each(['not a url', 'http://db:5432/x', 42])(
    'rejects the connectionString %j at construction, naming it',
    (bad) => {
      expect(() => new PostgresLeaseStore({ connectionString: bad as string })).toThrow(
        `new PostgresLeaseStore(): connectionString must be a postgres:// or postgresql:// URL (like "postgres://user:password@host:5432/database"); got ${JSON.stringify(bad)}`,
      );
    },
  );

  it('checks its table name at construction', () => {
    expect(() => new PostgresLeaseStore({ table: 'x; DROP TABLE y' })).toThrow(
      /table must be an SQL name like "leases" or "app.leases".*got "x; DROP TABLE y"/,
    );
  });

  it('a LISTEN connection killed again and again gives its pool slot back: leases are still served', async () => {
    const app = unique('nw_listen_');
    const listenTable = unique('nw_test_');
    const store = new PostgresLeaseStore({
      connectionString: DATABASE_URL,
      table: listenTable,
      config: { application_name: app, max: 3 },
    });
    try {
      for (let i = 0; i < 6; i++) {
        const watch = await store.watch('x', () => undefined);
        await pool.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [app],
        );
        for (let t = 0; t < 100 && watch.active; t++) await sleep(10);
        expect(watch.active).toBe(false);
      }
      const answer = await Promise.race([
        store.acquire('x', 'alice', 1000),
        sleep(3000).then(() => 'no answer: the pool has no free connection'),
      ]);
      expect(answer).toMatchObject({ acquired: true });
    } finally {
      await store.close();
      await pool.query(`DROP TABLE IF EXISTS ${listenTable}`);
      await pool.query(`DROP SEQUENCE IF EXISTS ${listenTable}_token_seq`);
    }
  });

  it('an unreachable server and a wrong role fail each call with the server error', async () => {
    const down = new PostgresLeaseStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
    });
    await expect(down.acquire('x', 'alice', 1000)).rejects.toThrow(/ECONNREFUSED/);
    await down.close();
    const role = new PostgresLeaseStore({
      connectionString: 'postgres://nobody@127.0.0.1:5432/test',
    });
    await expect(role.acquire('x', 'alice', 1000)).rejects.toThrow(/role "nobody" does not exist/);
    await role.close();
  });
});

describe('optional peers', () => {
  it('a missing package is reported with the command that installs it', async () => {
    await expect(loadPeer('nestjs-wait-no-such-package', 'SomeStore')).rejects.toThrow(
      'SomeStore needs the "nestjs-wait-no-such-package" package: npm install nestjs-wait-no-such-package',
    );
  });
});
