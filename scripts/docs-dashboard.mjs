// `npm run docs:dashboard`: docs/dashboard.png, the dashboard of the built sample (dist-sample/)
// in Debian's chromium, after some runs of its loops, a few of them failed; and
// docs/dashboard.json, which says of which page (the sha256 of DASHBOARD_PAGE, checked by
// test/docs/dashboard-screenshot.spec.ts), when and in which chromium it was taken.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DASHBOARD_PAGE } from '../dist/dashboard/dashboard.page.js';
import { CHROMIUM, hasChromium, INSTALL_CHROMIUM, launchChromium } from './chromium.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const png = fileURLToPath(new URL('../docs/dashboard.png', import.meta.url));
const json = fileURLToPath(new URL('../docs/dashboard.json', import.meta.url));

if (!hasChromium()) {
  console.error(`${CHROMIUM} is missing: ${INSTALL_CHROMIUM}`);
  process.exit(1);
}

// The sample on a free port, its leases in memory (this one replica leads), its loops quick so
// that the timelines fill in seconds, under a stable pod name (the page shows it).
const env = {
  ...process.env,
  PORT: '0',
  NO_COLOR: '1',
  POD_NAME: 'sample-pod-a',
  CONTAINER_GC_PERIOD: '250ms',
  IMAGE_GC_PERIOD: '700ms',
};
for (const key of ['REDIS_URL', 'DATABASE_URL', 'LEASE_NAME', 'NEST_LOG_LEVEL']) delete env[key];
const sample = spawn(process.execPath, ['dist-sample/main.js'], {
  cwd: root,
  env,
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
sample.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
sample.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
const exited = new Promise((resolve) => sample.once('exit', resolve));

/** Polls `check` until it returns a value; fails naming `what` after 15 s or if the sample exits. */
async function waitFor(what, check) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (sample.exitCode !== null || sample.signalCode !== null)
      throw new Error(`the sample exited while waiting for ${what}\n${output}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output}`);
    await sleep(50);
  }
}

async function runs(base) {
  const state = await (await fetch(`${base}/wait/api/state`)).json();
  return state.loops.reduce((sum, loop) => sum + loop.iterations, 0);
}

let browser;
try {
  const base = await waitFor(
    'the sample to listen',
    () => /Dashboard on (http:\/\/127\.0\.0\.1:\d+)\/wait/.exec(output)?.[1],
  );
  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
  await page.goto(`${base}/wait`);
  await page.locator('#status', { hasText: /^live$/ }).waitFor();
  // The page draws the runs it sees: some successes, a short runtime outage (failed runs and
  // an error message), then the recovery.
  const start = await runs(base);
  await waitFor('some runs', async () => ((await runs(base)) >= start + 8 ? true : undefined));
  await fetch(`${base}/runtime/outage`, { method: 'POST' });
  await sleep(600);
  await fetch(`${base}/runtime/outage`, { method: 'DELETE' });
  const recovered = await runs(base);
  await waitFor('runs after the outage', async () =>
    (await runs(base)) >= recovered + 6 ? true : undefined,
  );
  // The next state event (once a second) has the last run's counts.
  await sleep(1200);
  await page.screenshot({ path: png });
  const made = {
    page: createHash('sha256').update(DASHBOARD_PAGE).digest('hex'),
    made: new Date().toISOString(),
    chromium: browser.version(),
  };
  await writeFile(json, `${JSON.stringify(made, null, 2)}\n`);
  console.log(`wrote ${png} (${(await runs(base)) - start} runs) and ${json}`);
} finally {
  await browser?.close();
  sample.kill('SIGTERM');
  await exited;
}
