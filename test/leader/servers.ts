import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';

/*
 * The real Redis and PostgreSQL of the machine (127.0.0.1:6379 and :5432). In CI (`CI` set) a
 * server that cannot be reached fails the tests; elsewhere they are skipped with a message that
 * says how to start it.
 */

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function reachable(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

const HOW = {
  redis: 'start it with `redis-server --daemonize yes` (or set REDIS_URL)',
  postgres:
    'start it with `pg_ctlcluster 15 main start` and create database "test" (or set DATABASE_URL)',
};

/** `describe`, or `describe.skip` with a message when the server is down outside CI. */
export async function describeWith(server: 'redis' | 'postgres'): Promise<jest.Describe> {
  const url = new URL(server === 'redis' ? REDIS_URL : DATABASE_URL);
  const port = Number(url.port || (server === 'redis' ? 6379 : 5432));
  if ((await reachable(port, url.hostname)) || process.env.CI) return describe;
  console.warn(`Skipping the ${server} tests: nothing answers at ${url.host}; ${HOW[server]}.`);
  return describe.skip;
}

/** A name no other test run uses: key prefixes, table names. */
export function unique(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

/**
 * Polls `check` on the real clock until it gives a value other than `undefined` (a check that
 * throws counts as not yet: a server still starting); fails naming `what` after `ms`.
 */
export async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let failure: unknown;
  for (;;) {
    const value = await Promise.resolve()
      .then(check)
      .catch((error: unknown) => void (failure = error));
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`, { cause: failure });
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
