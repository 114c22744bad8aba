// Scenario 7: a cluster of replicas with spread loops.
//
// `redis`: 3 replicas, each a process of its own (bench/lib/cluster-replica.mjs) with the same
// `n` spread loops of `period` ms and a cheap body, on the real Redis (RedisLeaseStore with a key
// prefix of this run's own, deleted at the end) seen through a Proxy that counts the store calls
// (bench/lib/counted-store.mjs). Once settled (no claim, release or new session for 3 retry
// periods, then every loop owned by exactly one replica by `registry.list()`): store calls per
// second per replica over `seconds`, the payload bytes per heartbeat, and the spread. Then, each
// followed by a settle: a 4th replica joins (its app created with its modules already loaded);
// one leaves gracefully (`app.close()`); one is killed (SIGKILL). For each, the wall time from the
// event until every moved loop was claimed by its new owner, and until each had run there; and
// the gaps between a moved loop's last run on its old owner and its first on the new one.
// Children are killed whatever happens (and exit on their own when this process dies).
//
// `memory`: one app in one process on the in-memory store (realClock), `n` loops of `period` ms
// with an empty body, placed `spread` (the one member owns them all: every run is gated and
// recorded, and every heartbeat carries the records), `every` (the cluster option set, so the
// elector runs, but no member), or `none` (no cluster option): CPU per run, as scenario 1.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createApp, nest, pause, report } from '../lib/impls.mjs';
import { countCalls } from '../lib/counted-store.mjs';

const REPLICA = fileURLToPath(new URL('../lib/cluster-replica.mjs', import.meta.url));
const now = () => performance.timeOrigin + performance.now();

export async function run(name, params) {
  if (name === 'memory') return memory(params);
  if (name === 'redis') return redis(params);
  throw new Error(`unknown implementation ${name}`);
}

async function memory({ n = 10_000, period = 1000, placement, seconds = 3, warmup = 2, timings }) {
  const { store, stats } = countCalls(new nest.InMemoryLeaseStore());
  const cluster = placement === 'none' ? undefined : { store, name: 'bench', ...timings };
  const app = await createApp([nest.WaitModule.forRoot({ cluster })]);
  const registry = app.get(nest.PollingRegistry);
  let runs = 0;
  const body = () => {
    runs++;
  };
  const options = placement === 'none' ? { period } : { period, placement };
  for (let i = 0; i < n; i++) registry.add(`loop${i}`, body, options);
  // Records go with the heartbeat after their run: counted from 2 retry periods after each end
  // of the window, so that those of its runs, not of the runs before it, are the ones counted.
  const lag = 2 * (timings?.retryPeriod ?? 0);
  await pause(warmup * 1000);
  const runs0 = runs;
  const beats0 = stats.counts.heartbeat;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pause(lag);
  const records0 = stats.records;
  await pause(seconds * 1000 - lag);
  const cpu = process.cpuUsage(cpu0);
  const elapsed = performance.now() - t0;
  const done = runs - runs0;
  const cpuMicros = cpu.user + cpu.system;
  const beats = stats.counts.heartbeat - beats0;
  await pause(lag);
  const records = stats.records - records0;
  await app.close();
  report({
    cpuMicrosPerRun: cpuMicros / done,
    cpuMillisPerSecond: cpuMicros / elapsed,
    rate: done / ((n * elapsed) / period),
    heartbeatsPerSecond: (beats * 1000) / elapsed,
    recordsPerRun: records / done,
  });
}

/** A replica process and a request/answer channel to it. */
class Replica {
  constructor(identity, config) {
    this.identity = identity;
    this.alive = true;
    this.child = fork(REPLICA, [JSON.stringify({ ...config, identity })], {
      // BENCH_CPU_PROF=<dir>: each replica writes a CPU profile there when it exits (not killed).
      execArgv: process.env.BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
        : [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.pending = new Map();
    this.next = 0;
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (m) => {
        if (m.ready) return resolve();
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) p?.reject(new Error(`${identity}: ${m.error}`));
        else p?.resolve(m);
      });
      this.child.on('exit', (code, signal) => {
        this.alive = false;
        const error = new Error(`${identity} exited (${code ?? signal})`);
        reject(error);
        for (const p of this.pending.values()) p.reject(error);
        this.pending.clear();
      });
    });
  }

  ask(op, args = {}) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, op, ...args });
    });
  }

  kill() {
    if (this.alive) this.child.kill('SIGKILL');
  }

  /** Closes the channel (the replica exits at once, without leaving) or, after `ms`, kills it. */
  async end(ms = 2000) {
    if (!this.alive) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.kill(), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

async function redis({ n, period = 1000, seconds = 4, timings, url }) {
  url ??= process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const { Redis } = await import('ioredis');
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
  } catch (error) {
    admin.disconnect();
    return report({ skipped: `no Redis at ${url} (${error.message})` });
  }
  const { RedisLeaseStore } = await import('../../dist/redis/index.js');
  if (typeof RedisLeaseStore.prototype.heartbeat !== 'function') {
    admin.disconnect();
    return report({ skipped: 'this build of RedisLeaseStore has no cluster calls' });
  }
  const prefix = `nestjs-wait-bench:${process.pid}:`;
  const config = { n, period, cluster: 'bench', prefix, url, timings };
  const replicas = ['r1', 'r2', 'r3', 'r4'].map((id) => new Replica(id, config));
  const killAll = () => replicas.forEach((r) => r.kill());
  process.on('exit', killAll);
  const { retryPeriod, leaseDuration } = timings;
  try {
    await Promise.all(replicas.map((r) => r.ready));
    const [r1, r2, r3, r4] = replicas;
    const boots = await Promise.all([r1, r2, r3].map((r) => r.ask('boot')));
    const first = await settle([r1, r2, r3], n, retryPeriod);

    // 1. Store calls in the steady state, and the bytes they carry.
    const before = await Promise.all([r1, r2, r3].map((r) => r.ask('status')));
    await pause(seconds * 1000);
    const after = await Promise.all([r1, r2, r3].map((r) => r.ask('status')));
    const steady = callsOf(before, after, retryPeriod);
    steady.runsPerSecond /= n / (period / 1000); // as a share of the ideal

    // 2. The spread.
    const spread = spreadOf(first.owned);

    // 3. r4 joins: from its app's creation (its modules loaded) and from its first heartbeat.
    const joinAt = now();
    const { bootMs } = await r4.ask('boot');
    const joined = await settle([r1, r2, r3, r4], n, retryPeriod);
    const share4 = joined.owned[3];
    const before4 = await lastRuns([r1, r2, r3], share4);
    const join = await movedTo([r4], share4, joinAt, before4);
    const { joinedAt } = await r4.ask('status');

    // 4. r2 leaves gracefully.
    const leaving = joined.owned[1];
    await Promise.all([r1, r3, r4].map((r) => r.ask('mark')));
    const leaveAt = now();
    const closed = await r2.ask('close', { indices: leaving });
    await settle([r1, r3, r4], n, retryPeriod);
    const leave = await movedTo([r1, r3, r4], leaving, leaveAt, closed.last);

    // 5. r3 is killed (its last runs read just before: the gap after is a little overstated).
    const victim = (await r3.ask('status', { owned: true })).owned;
    const lastOnVictim = (await r3.ask('runs', { indices: victim })).last;
    await Promise.all([r1, r4].map((r) => r.ask('mark')));
    const killAt = now();
    r3.kill();
    const kill = await movedTo([r1, r4], victim, killAt, lastOnVictim, leaseDuration + 30_000);

    report({
      n,
      period,
      bootMs: Math.max(...boots.map((b) => b.bootMs)),
      settleMs: first.ms,
      ...steady,
      spread: spread.maxOverMean,
      spreadMin: spread.min,
      spreadMax: spread.max,
      spread4: spreadOf(joined.owned).maxOverMean,
      ...prefixed('join', { ...join, moved: share4.length, bootMs }),
      // The same from when r4's first heartbeat was answered: it is a member from then on.
      joinMemberOwnedMs: join.ownedMs - (joinedAt - joinAt),
      joinMemberRanMs: join.ranMs - (joinedAt - joinAt),
      ...prefixed('leave', { ...leave, moved: leaving.length, closeMs: closed.closeMs }),
      ...prefixed('kill', { ...kill, moved: victim.length }),
    });
  } finally {
    await Promise.all(replicas.map((r) => r.end()));
    await clean(admin, prefix);
    admin.disconnect();
  }
}

/** `{ ownedMs }` as `{ joinOwnedMs }`. */
const prefixed = (name, o) =>
  Object.fromEntries(
    Object.entries(o).map(([k, v]) => [name + k[0].toUpperCase() + k.slice(1), v]),
  );

/**
 * Waits until no claim or release was sent and no session changed for 3 retry periods, and then
 * every loop is owned by exactly one of `live` (by `registry.list()`); answers the loops each
 * owns and the time it took.
 */
async function settle(live, n, retryPeriod, timeout = 30_000) {
  const t0 = now();
  let sessions = -1;
  let quietSince = now();
  for (;;) {
    await pause(retryPeriod);
    const status = await Promise.all(live.map((r) => r.ask('status')));
    const total = status.reduce((sum, s) => sum + s.sessions, 0);
    if (total !== sessions) quietSince = now();
    sessions = total;
    const lastMove = Math.max(quietSince, ...status.map((s) => s.lastMove));
    if (process.env.BENCH_DEBUG) {
      const moves = status.map(
        (s) => `${s.calls.claimLoops}/${s.calls.releaseLoops}/${s.sessions}`,
      );
      process.stderr.write(
        `settle ${(now() - t0).toFixed(0)} ms: claims/releases/sessions ${moves}\n`,
      );
    }
    if (now() - lastMove >= 3 * retryPeriod) {
      const owned = (await Promise.all(live.map((r) => r.ask('status', { owned: true })))).map(
        (s) => s.owned,
      );
      const flat = owned.flat();
      if (flat.length === n && new Set(flat).size === n) return { owned, ms: now() - t0 };
    }
    if (now() - t0 > timeout) {
      const owned = await Promise.all(live.map((r) => r.ask('status', { owned: true })));
      throw new Error(`not settled in ${timeout} ms: ${owned.map((s) => s.owned.length)} owned`);
    }
  }
}

/** Waits until each of `loops` ran on one of `live` since `since` (their last mark). */
async function ranOn(live, loops, since, timeout) {
  const t0 = now();
  for (;;) {
    const answers = await Promise.all(live.map((r) => r.ask('runs', { indices: loops })));
    if (loops.every((_, k) => answers.some((a) => a.first[k] >= since))) return answers;
    if (now() - t0 > timeout) throw new Error(`moved loops not run after ${timeout} ms`);
    await pause(50);
  }
}

/** Each loop's last run on any of `replicas`. */
async function lastRuns(replicas, loops) {
  const answers = await Promise.all(replicas.map((r) => r.ask('runs', { indices: loops })));
  return loops.map((_, k) => Math.max(...answers.map((a) => a.last[k]).filter((t) => t >= 0)));
}

/**
 * For `loops`, moved at `since` from where they last ran at `lastBefore`, once each ran on one of
 * `live`: when the last of them was claimed on its new owner and when the last of them first ran
 * there (ms after `since`), and the longest and shortest gap between a loop's last run before
 * and its first run after.
 */
async function movedTo(live, loops, since, lastBefore, timeout = 30_000) {
  const runs = await ranOn(live, loops, since, timeout);
  const claims = await Promise.all(live.map((r) => r.ask('claims', { indices: loops })));
  let ownedMs = 0;
  let ranMs = 0;
  let maxGap = 0;
  let minGap = Infinity;
  for (let k = 0; k < loops.length; k++) {
    const ran = Math.min(...runs.map((a) => a.first[k]).filter((t) => t >= since));
    const claimed = Math.min(...claims.map((a) => a.claimedAt[k]).filter((t) => t >= since));
    ownedMs = Math.max(ownedMs, claimed - since);
    ranMs = Math.max(ranMs, ran - since);
    maxGap = Math.max(maxGap, ran - lastBefore[k]);
    minGap = Math.min(minGap, ran - lastBefore[k]);
  }
  return { ownedMs, ranMs, maxGap, minGap };
}

/** Calls per second and per retry period, by replica (mean and max), from two status reads. */
function callsOf(before, after, retryPeriod) {
  const perReplica = after.map((a, i) => {
    const b = before[i];
    const seconds = (a.at - b.at) / 1000;
    const delta = (m) => a.calls[m] - b.calls[m];
    const all = Object.keys(a.calls).reduce((sum, m) => sum + delta(m), 0);
    const bytes = (m, side) => (a.bytes[m]?.[side] ?? 0) - (b.bytes[m]?.[side] ?? 0);
    const beats = delta('heartbeat');
    return {
      total: all / seconds,
      heartbeat: beats / seconds,
      elector: (delta('acquire') + delta('renew')) / seconds,
      other: (all - beats - delta('acquire') - delta('renew')) / seconds,
      recordsPerBeat: (a.records - b.records) / beats,
      sentPerBeat: bytes('heartbeat', 'sent') / beats,
      receivedPerBeat: bytes('heartbeat', 'received') / beats,
      runs: (a.runs - b.runs) / seconds,
      sessions: a.sessions - b.sessions,
      lagMax: a.lagMax,
      lagP99: a.lagP99,
    };
  });
  const mean = (k) => perReplica.reduce((s, r) => s + r[k], 0) / perReplica.length;
  const max = (k) => Math.max(...perReplica.map((r) => r[k]));
  return {
    callsPerSecond: mean('total'),
    callsPerSecondMax: max('total'),
    callsPerRetry: (mean('total') * retryPeriod) / 1000,
    heartbeatsPerSecond: mean('heartbeat'),
    electorPerSecond: mean('elector'),
    otherPerSecond: max('other'),
    recordsPerBeat: mean('recordsPerBeat'),
    bytesSentPerBeat: mean('sentPerBeat'),
    bytesReceivedPerBeat: mean('receivedPerBeat'),
    runsPerSecond: mean('runs') * perReplica.length,
    // Sessions started in the window (0: no member lost its lease) and the event loop's delay.
    sessionsLost: perReplica.reduce((sum, r) => sum + r.sessions, 0),
    lagMax: max('lagMax'),
    lagP99: max('lagP99'),
  };
}

function spreadOf(owned) {
  const counts = owned.map((o) => o.length);
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  const max = Math.max(...counts);
  return { maxOverMean: max / mean, min: Math.min(...counts), max };
}

async function clean(admin, prefix) {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await admin.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
