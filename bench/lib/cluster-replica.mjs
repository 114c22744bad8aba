// One replica of the cluster scenario, in a process of its own (forked by
// bench/scenarios/cluster.mjs with an IPC channel): a Nest app with `n` spread loops named
// loop0..loop<n-1>, a cheap body each, on a RedisLeaseStore seen through countCalls(). It loads
// its modules at once and boots the app when asked, so that a join measures the app, not Node's
// start. Answers the coordinator's requests ({ id, op, ...args }) with { id, ...answer }; exits
// at once (without leaving the cluster) when the coordinator goes away.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createApp, nest } from './impls.mjs';
import { CALLS, countBytes, countCalls } from './counted-store.mjs';

const { identity, n, period, cluster, prefix, url, timings } = JSON.parse(process.argv[2]);
const { RedisLeaseStore } = await import('../../dist/redis/index.js');
const { Redis } = await import('ioredis');

/** Epoch ms, comparable between the processes of one machine. */
const now = () => performance.timeOrigin + performance.now();
// Per loop: its last run here, its first run here since the last mark, and when a claimLoops
// answer last gave it to this replica. NaN: never.
const last = new Float64Array(n).fill(NaN);
const first = new Float64Array(n).fill(NaN);
const claimedAt = new Float64Array(n).fill(NaN);
let runs = 0;
let app;
let registry;
let client;
let stats = { counts: {}, records: 0, bytes: {}, sessions: 0, joinedAt: NaN, lastMove: 0 };
// The event loop's delay between two status reads: how late a timer (a heartbeat's) fires.
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();

const indexOf = (loop) => Number(loop.slice(4));
const pick = (array, indices) => indices.map((i) => array[i]);

/** The loops this replica owns, by `registry.list()`'s owner field. */
function owned() {
  const out = [];
  for (const s of registry.list()) if (s.owner === identity) out.push(indexOf(s.name));
  return out;
}

const ops = {
  async boot() {
    const t0 = now();
    // The store's own options for its main connection: no queue while disconnected.
    client = new Redis(url, { enableOfflineQueue: false, disconnectTimeout: 100 });
    const counted = countCalls(new RedisLeaseStore({ client, keyPrefix: prefix }), {
      onClaimed: (loop) => (claimedAt[indexOf(loop)] = now()),
      now,
    });
    stats = counted.stats;
    countBytes(client, stats);
    app = await createApp([
      nest.WaitModule.forRoot({
        cluster: { store: counted.store, name: cluster, identity, ...timings },
      }),
    ]);
    registry = app.get(nest.PollingRegistry);
    for (let i = 0; i < n; i++) {
      const slot = i;
      const body = () => {
        const t = now();
        if (Number.isNaN(first[slot])) first[slot] = t;
        last[slot] = t;
        runs++;
      };
      registry.add(`loop${i}`, body, { period, placement: 'spread' });
    }
    return { bootMs: now() - t0 };
  },
  /**
   * Running totals (calls by method, records, bytes by method, runs, sessions), when the first
   * heartbeat was answered and the last claim or release sent, and the event loop's delay since
   * the last status; with `owned`, the loops owned here.
   */
  status({ owned: list = false }) {
    const delay = { lagMax: lag.max / 1e6, lagP99: lag.percentile(99) / 1e6 };
    lag.reset();
    return {
      at: now(),
      calls: Object.fromEntries(CALLS.map((m) => [m, stats.counts[m] ?? 0])),
      records: stats.records,
      bytes: stats.bytes,
      sessions: stats.sessions,
      joinedAt: stats.joinedAt,
      lastMove: stats.lastMove,
      runs,
      ...delay,
      owned: list && registry !== undefined ? owned() : undefined,
    };
  },
  /** From now on `first` holds each loop's first run after this. */
  mark() {
    first.fill(NaN);
    return {};
  },
  runs: ({ indices }) => ({ first: pick(first, indices), last: pick(last, indices) }),
  claims: ({ indices }) => ({ claimedAt: pick(claimedAt, indices) }),
  /** A graceful leave: the app closes (its loops settle, then one call frees them all). */
  async close({ indices }) {
    const t0 = now();
    await app.close();
    const closeMs = now() - t0;
    client.disconnect();
    return { closeMs, last: pick(last, indices) };
  },
};

process.on('message', async ({ id, op, ...args }) => {
  try {
    process.send({ id, ...(await ops[op](args)) });
  } catch (error) {
    process.send({ id, error: String(error?.stack ?? error) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
