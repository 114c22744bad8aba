// A lease store seen through a Proxy that counts its calls by method, the run records the
// heartbeats carry and (given a hook) the loops each claim won, without changing what the store
// does: every method is called on the store itself, so its private fields still work.
// BENCH_DEBUG=1 prints each failed call (with its records and timeout) and each claim's outcome.
import { AsyncLocalStorage } from 'node:async_hooks';

/** The calls a lease store and the cluster contract make; setup calls are counted apart. */
export const CALLS = [
  'heartbeat',
  'memberLoops',
  'claimLoops',
  'releaseLoops',
  'leave',
  'acquire',
  'renew',
  'release',
];
const SETUP = ['watch', 'watchCluster', 'close'];
const debug = process.env.BENCH_DEBUG ? (line) => process.stderr.write(`${line}\n`) : undefined;

/** The store method a Redis command was sent for (see {@link countBytes}). */
const calling = new AsyncLocalStorage();

/**
 * `store` through a Proxy. Running totals in `stats`: `counts` (by method), `records` (run
 * records sent with heartbeats), `sessions` (the sessions heartbeats answered: 1 for a member
 * that never lost its lease) and `bytes` (by method, when {@link countBytes} watches the store's
 * client); `joinedAt`, when (by `now()`) the first heartbeat was answered, and `lastMove`, when
 * the last claim or release was sent. `onClaimed(loop)` hears each loop a claim won.
 */
export function countCalls(store, { onClaimed, now = () => performance.now() } = {}) {
  const counts = Object.fromEntries([...CALLS, ...SETUP].map((m) => [m, 0]));
  const stats = { counts, records: 0, bytes: {}, sessions: 0, joinedAt: NaN, lastMove: 0 };
  let session;
  const answered = {
    heartbeat(beat) {
      if (Number.isNaN(stats.joinedAt)) stats.joinedAt = now();
      if (beat.session !== session) stats.sessions++;
      session = beat.session;
    },
    claimLoops(claims, args) {
      if (debug) {
        const by = {};
        for (const c of claims) {
          const key = c.claimed ? 'won' : `owned by ${c.owner}`;
          by[key] = (by[key] ?? 0) + 1;
        }
        debug(`${args[1]} claimLoops ${args[3].length}: ${JSON.stringify(by)}`);
      }
      if (onClaimed) for (const c of claims) if (c.claimed) onClaimed(c.loop);
    },
  };
  const wrapped = new Map();
  const proxy = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== 'function' || !(key in counts)) return value;
      let fn = wrapped.get(key);
      if (fn === undefined) {
        fn = (...args) => {
          counts[key]++;
          if (key === 'heartbeat') stats.records += args[1].runs.length;
          if (key === 'claimLoops' || key === 'releaseLoops') stats.lastMove = now();
          const t0 = now();
          const result = calling.run(key, () => value.apply(target, args));
          if (debug) {
            result.catch((e) => {
              const runs = args[1]?.runs?.length ?? '';
              const { timeout } = args.at(-1) ?? {};
              const ms = (now() - t0).toFixed(0);
              debug(
                `${key} failed (records ${runs}, timeout ${timeout}) in ${ms} ms: ${e.message}`,
              );
            });
          }
          const hook = answered[key];
          if (hook === undefined) return result;
          return result.then((answer) => {
            hook(answer, args);
            return answer;
          });
        };
        wrapped.set(key, fn);
      }
      return fn;
    },
  });
  return { store: proxy, stats };
}

/**
 * Counts the payload of every command `client` (an ioredis client) sends and of its reply, by the
 * store method it was sent for: arguments and reply strings, numbers as their digits, without
 * RESP's framing (a few bytes per argument).
 */
export function countBytes(client, stats) {
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, ...rest) => {
    const method = calling.getStore() ?? 'other';
    const b = (stats.bytes[method] ??= { sent: 0, received: 0, commands: 0 });
    b.commands++;
    for (const arg of command.args) b.sent += sizeOf(arg);
    void command.promise.then(
      (reply) => (b.received += sizeOf(reply)),
      () => undefined,
    );
    return send(command, ...rest);
  };
}

function sizeOf(value) {
  if (value === null || value === undefined) return 0;
  if (Array.isArray(value)) return value.reduce((sum, v) => sum + sizeOf(v), 0);
  if (Buffer.isBuffer(value)) return value.length;
  return Buffer.byteLength(String(value));
}
