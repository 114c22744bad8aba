/**
 * The sample app (`npm start`), end to end: built as `npm run build:sample` does, run as a child
 * process on a free port, driven over HTTP, then stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface LoopView {
  name: string;
  state: 'running' | 'stopped' | 'standby' | 'paused';
  pausedBy?: string;
  period: number;
  iterations: number;
  failures: number;
  consecutiveFailures: number;
  inFlight: boolean;
  lastError?: string;
  nextRunAt?: string;
}

const root = fileURLToPath(new URL('../..', import.meta.url));
let child: ChildProcess;
let stdout = '';
let stderr = '';
let base = '';

/** Polls `check` until it returns a value other than undefined; fails after `timeout` ms. */
async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeout = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the sample exited while waiting for ${what}\n${stdout}\n${stderr}`);
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}\n${stdout}\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the sample has written a line matching `pattern` (output arrives after the HTTP answer). */
function logged(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout'): Promise<true> {
  return waitFor(`${stream} to match ${pattern}`, () =>
    pattern.test(stream === 'stdout' ? stdout : stderr) ? true : undefined,
  );
}

async function call(method: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: await response.json() };
}

async function loop(name: string, action?: 'stop' | 'start' | 'trigger'): Promise<LoopView> {
  const { status, body } = await call(
    action ? 'POST' : 'GET',
    `/loops/${name}${action ? `/${action}` : ''}`,
  );
  expect(status).toBe(200);
  return body as LoopView;
}

beforeAll(async () => {
  // Built once for the whole suite by test/support/global-setup.js.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    NO_COLOR: '1',
    CONTAINER_GC_PERIOD: '200ms',
    IMAGE_GC_HIGH_THRESHOLD_PERCENT: '100',
  };
  delete env.NEST_LOG_LEVEL;
  child = spawn(process.execPath, ['dist-sample/main.js'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  base = await waitFor(
    'the listening line',
    () => /Sample listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1],
  );
}, 180_000);

afterAll(() => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null)
    child.kill('SIGKILL');
});

it('lists the loops: container GC runs on its configured period, image GC is disabled at 100%', async () => {
  const { status, body } = await call('GET', '/loops');
  expect(status).toBe(200);
  const loops = body as LoopView[];
  expect(loops.map((l) => [l.name, l.state, l.period])).toEqual([
    ['container-gc', 'running', 200],
    ['image-gc', 'stopped', 300_000],
  ]);
  expect(loops[1].iterations).toBe(0);
  expect(stdout).toContain('ImageGCHighThresholdPercent is set 100, Disable image GC');
  await waitFor('a second container GC run', async () =>
    (await loop('container-gc')).iterations >= 2 ? true : undefined,
  );
});

it("serves GET /health with every loop's state, and leads its in-memory lease alone", async () => {
  const { status, body } = await call('GET', '/health');
  expect(status).toBe(200);
  expect(body).toMatchObject({
    status: 'ok',
    info: {
      loops: {
        status: 'up',
        role: 'leader',
        loops: {
          'container-gc': { state: 'running', healthy: true, consecutiveFailures: 0 },
          'image-gc': { state: 'stopped', healthy: true, iterations: 0 },
        },
      },
    },
  });
});

it('answers 503 on /health once container GC has failed for 3 periods, 200 after it recovers', async () => {
  expect((await call('POST', '/runtime/outage')).status).toBe(200);
  const down = await waitFor('/health to answer 503', async () => {
    const answer = await call('GET', '/health');
    return answer.status === 503 ? answer.body : undefined;
  });
  expect(down).toMatchObject({
    status: 'error',
    error: { loops: { status: 'down', loops: { 'container-gc': { healthy: false } } } },
  });
  expect((await call('DELETE', '/runtime/outage')).status).toBe(200);
  await waitFor('/health to answer 200', async () =>
    (await call('GET', '/health')).status === 200 ? true : undefined,
  );
});

it('serves the dashboard at /wait to this machine, read-write, and logs its URL', async () => {
  await logged(new RegExp(`Dashboard on ${base.replace(/[.]/g, '\\.')}/wait\\b`));
  const page = await fetch(`${base}/wait`, { signal: AbortSignal.timeout(5_000) });
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  await page.text();
  const { status, body } = await call('GET', '/wait/api/state');
  expect(status).toBe(200);
  expect(body).toMatchObject({ readOnly: false });
  expect((body as { loops: { name: string }[] }).loops.map((l) => l.name)).toEqual([
    'container-gc',
    'image-gc',
  ]);
});

it('answers 404 for an unknown loop', async () => {
  for (const [method, path] of [
    ['GET', '/loops/nope'],
    ['POST', '/loops/nope/trigger'],
    ['POST', '/loops/nope/stop'],
    ['POST', '/loops/nope/start'],
  ]) {
    const { status, body } = await call(method, path);
    expect(status).toBe(404);
    expect((body as { message: string }).message).toContain('no loop is named "nope"');
  }
});

it('triggers a run of the disabled image GC, which stays stopped', async () => {
  const status = await loop('image-gc', 'trigger');
  expect(status).toMatchObject({ state: 'stopped', iterations: 1, failures: 0, inFlight: false });
});

it('logs a failed container GC run, then the recovery', async () => {
  expect((await call('POST', '/runtime/outage')).status).toBe(200);
  const failed = await loop('container-gc', 'trigger');
  expect(failed.consecutiveFailures).toBeGreaterThanOrEqual(1);
  expect(failed.lastError).toMatch(/^Container garbage collection failed: rpc error/);
  await logged(/ERROR \[WaitModule\] Loop container-gc failed/, 'stderr');
  expect((await call('DELETE', '/runtime/outage')).status).toBe(200);
  const recovered = await loop('container-gc', 'trigger');
  expect(recovered.consecutiveFailures).toBe(0);
  await logged(/LOG \[WaitModule\] Loop container-gc succeeded after \d+ failures?/);
});

it('stops and starts a loop (a leader loop: paused cluster-wide, by this replica)', async () => {
  const stopped = await loop('container-gc', 'stop');
  expect(stopped).toMatchObject({ state: 'paused', inFlight: false });
  expect(typeof stopped.pausedBy).toBe('string');
  expect(stopped.nextRunAt).toBeUndefined();
  await logged(/Loop container-gc stopped/);
  const started = await loop('container-gc', 'start');
  expect(started.state).toBe('running');
  await waitFor('a run after the restart', async () =>
    (await loop('container-gc')).iterations > stopped.iterations ? true : undefined,
  );
});

it('shuts down on SIGTERM: loops stopped, exit code 0, no forced exit', async () => {
  // 'close': the process has exited and its output is all read.
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('close', (code, signal) => resolve([code, signal])),
  );
  const before = (stdout.match(/Loop container-gc stopped/g) ?? []).length;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no exit 10 s after SIGTERM\n${stdout}\n${stderr}`)),
      10_000,
    );
  });
  try {
    expect(await Promise.race([exited, timeout])).toEqual([0, null]);
  } finally {
    clearTimeout(timer);
  }
  expect(stdout).toContain('SIGTERM: shutting down');
  expect((stdout.match(/Loop container-gc stopped/g) ?? []).length).toBe(before + 1);
  expect(stderr).not.toContain('still running');
}, 15_000);
