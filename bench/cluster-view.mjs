// `npm run bench:view`: what `PollingRegistry.list({ cluster: true })` costs with 1,000 spread
// loops, in memory, on Redis and on PostgreSQL. Two replicas (two Nest apps in this process,
// each with a store of its own) share the loops; once they are steady, one of them lists the
// cluster's view 50 times. Prints the store calls per list (one, whatever the number of loops)
// and the time per list (median, p95, max). Cleans up its keys and tables.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createApp } from './lib/impls.mjs';

const { WaitModule, PollingRegistry, InMemoryLeaseStore } = await import('../dist/index.js');
const { RedisLeaseStore } = await import('../dist/redis/index.js');
const { PostgresLeaseStore } = await import('../dist/postgres/index.js');

const LOOPS = 1000;
const LISTS = 50;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const timings = { leaseDuration: '3s', renewDeadline: '2s', retryPeriod: '500ms' };

/** `store` with its `loopRuns` calls counted. */
function counted(store) {
  const counts = { loopRuns: 0 };
  const original = store.loopRuns.bind(store);
  store.loopRuns = (...args) => {
    counts.loopRuns++;
    return original(...args);
  };
  return { store, counts };
}

async function replica(identity, store, name) {
  const app = await createApp([
    WaitModule.forRoot({ cluster: { store, name, identity, ...timings, placement: 'spread' } }),
  ]);
  await app.init();
  const registry = app.get(PollingRegistry);
  for (let i = 0; i < LOOPS; i++) registry.add(`loop${i}`, () => undefined, { period: 1000 });
  return { app, registry };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

async function measure(label, makeStore) {
  const name = `bench-view-${randomUUID()}`;
  const shared = makeStore();
  const a = counted(shared.a);
  const b = counted(shared.b);
  const ra = await replica('a', a.store, name);
  const rb = await replica('b', b.store, name);
  try {
    // Steady: every loop owned, and each owner has reported a run.
    for (let i = 0; i < 40; i++) {
      await sleep(250);
      const view = await ra.registry.list({ cluster: true });
      if (view.every((s) => s.owner !== undefined && s.lastStartedAt !== undefined)) break;
    }
    const before = a.counts.loopRuns;
    const times = [];
    let remote = 0;
    for (let i = 0; i < LISTS; i++) {
      const t0 = performance.now();
      const view = await ra.registry.list({ cluster: true });
      times.push(performance.now() - t0);
      remote = view.filter((s) => s.owner === 'b').length;
    }
    times.sort((x, y) => x - y);
    const calls = (a.counts.loopRuns - before) / LISTS;
    console.log(
      `${label}: list({ cluster: true }) of ${LOOPS} spread loops (${remote} owned by the other replica): ` +
        `${calls} store call per list; median ${pct(times, 0.5).toFixed(1)} ms, p95 ${pct(times, 0.95).toFixed(1)} ms, max ${times.at(-1).toFixed(1)} ms (${LISTS} lists)`,
    );
  } finally {
    await ra.app.close();
    await rb.app.close();
    await shared.cleanup?.();
  }
}

await measure('memory', () => {
  const store = new InMemoryLeaseStore();
  return { a: store, b: store };
});

await measure('redis', () => {
  const keyPrefix = `bench-view-${randomUUID()}:`;
  return {
    a: new RedisLeaseStore({ url: REDIS_URL, keyPrefix }),
    b: new RedisLeaseStore({ url: REDIS_URL, keyPrefix }),
    async cleanup() {
      const client = new Redis(REDIS_URL);
      const keys = await client.keys(`${keyPrefix}*`);
      if (keys.length > 0) await client.del(...keys);
      await client.quit();
    },
  };
});

await measure('postgres', () => {
  const table = `bench_view_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  return {
    a: new PostgresLeaseStore({ connectionString: DATABASE_URL, table }),
    b: new PostgresLeaseStore({ connectionString: DATABASE_URL, table }),
    async cleanup() {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      for (const t of ['', '_members', '_loops', '_controls', '_clusters']) {
        await client.query(`DROP TABLE IF EXISTS ${table}${t}`);
      }
      await client.query(`DROP SEQUENCE IF EXISTS ${table}_token_seq`);
      await client.end();
    },
  };
});
