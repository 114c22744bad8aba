import type { CanActivate, INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { filter, firstValueFrom } from 'rxjs';
import { PollingRegistry, WaitModule } from '../../lib/index.js';
import { WaitDashboardModule, type WaitDashboardOptions } from '../../lib/dashboard/index.js';
import { ContainerRuntime } from '../../sample/container-runtime.js';
import { CONTAINER_GC, IMAGE_GC } from '../../sample/garbage-collector.js';
import {
  CHROMIUM,
  hasChromium,
  INSTALL_CHROMIUM,
  launchChromium,
} from '../../scripts/chromium.mjs';
import { until } from '../leader/servers.js';
import { listening } from './support.js';

/*
 * The dashboard in a real browser: Debian's chromium (/usr/bin/chromium, which .ci/run installs),
 * driven by playwright-core, which downloads no browser and is only ever given this one. The
 * sample's AppModule is booted in this process, from sample/: the tests read its registry
 * (events$ for when a run started, iteration counts, states) and its fake runtime directly,
 * which a child process would hide behind HTTP and its log. The other apps are small ones made
 * here, each with the one option under test.
 */

/*
 * The functions given to page.evaluate() and waitForFunction() run in chromium. The project is
 * type-checked without the DOM library (it would change Node's timer types everywhere), so they
 * see the little of the DOM they use, declared here; nothing of this is emitted.
 */
interface PageNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
}
declare const document: {
  body: PageNode;
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): ArrayLike<PageNode> & Iterable<PageNode>;
};
declare const location: { pathname: string };

const HOSTILE = '<img src=x onerror=alert(1)>';
const HOSTILE_ERROR = `disk full: <img src=y onerror=alert(2)> <x-probe>`;
const POD = 'pod-browser';
/** How long a page may take to show what the server did (runs, states): wide, on a busy machine. */
const SHOWN = 5000;

interface Served {
  app: INestApplication;
  base: string;
  registry: PollingRegistry;
}

async function listen(app: INestApplication): Promise<Served> {
  return { app, base: await listening(app), registry: app.get(PollingRegistry) };
}

/** A small app: WaitModule and the dashboard with `options`, its loops added by `setup`. */
async function serve(
  options: WaitDashboardOptions | undefined,
  setup: (registry: PollingRegistry) => void = () => undefined,
): Promise<Served> {
  const ref = await Test.createTestingModule({
    imports: [WaitModule.forRoot(), WaitDashboardModule.forRoot(options)],
  }).compile();
  const served = await listen(ref.createNestApplication({ logger: false }));
  setup(served.registry);
  return served;
}

/** A CSS attribute selector matching `value` exactly (a JSON string is a valid CSS string). */
const attr = (name: string, value: string) => `[${name}=${JSON.stringify(value)}]`;
const row = (loop: string) => `tr${attr('data-loop', loop)}`;
const runsOf = (loop: string) => `${row(loop)} [data-timeline] [data-run]`;

/** Waits until `selector`'s text is `text`; fails saying what it was instead. */
async function text(page: Page, selector: string, expected: string, timeout = SHOWN) {
  try {
    await page.waitForFunction(
      ([s, t]) => document.querySelector(s)?.textContent === t,
      [selector, expected] as const,
      { timeout },
    );
  } catch {
    const actual = await page.evaluate((s) => document.querySelector(s)?.textContent, selector);
    throw new Error(
      `${selector}: expected the text ${JSON.stringify(expected)} within ${timeout} ms, got ${actual === undefined ? 'no such element' : JSON.stringify(actual)}`,
    );
  }
}

/** Waits until `selector` matches more than `count` elements; resolves the page's Date.now() then. */
async function more(page: Page, selector: string, count: number): Promise<number> {
  const handle = await page.waitForFunction(
    ([s, n]) => (document.querySelectorAll(s).length > n ? Date.now() : 0),
    [selector, count] as const,
    { timeout: SHOWN },
  );
  return handle.jsonValue();
}

/** A POST of the dashboard's API made by the page's own script (same origin, its header). */
function post(page: Page, loop: string, action: string): Promise<number> {
  return page.evaluate(
    async ([name, verb]) =>
      (
        await fetch(`${location.pathname}/api/loops/${encodeURIComponent(name)}/${verb}`, {
          method: 'POST',
          headers: { 'X-Wait-Dashboard': '1' },
        })
      ).status,
    [loop, action] as const,
  );
}

const missing = !hasChromium();
if (missing && !process.env.CI)
  console.warn(`Skipping the dashboard browser tests: no ${CHROMIUM}; ${INSTALL_CHROMIUM}.`);

(missing && !process.env.CI ? describe.skip : describe)('the dashboard in chromium', () => {
  let browser: Browser;
  let context: BrowserContext | undefined;
  let page: Page;
  let dialogs: string[];
  let errors: string[];
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    if (missing) {
      throw new Error(`The dashboard browser tests need ${CHROMIUM}: ${INSTALL_CHROMIUM}.`);
    }
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    context = await browser.newContext();
    context.setDefaultTimeout(SHOWN);
    page = await context.newPage();
    dialogs = [];
    errors = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss().catch(() => undefined);
    });
    page.on('pageerror', (error) => errors.push(error.message));
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
    // The small apps of one test; the sample stays up for its describe.
    for (const app of apps.splice(0)) await app.close();
  });

  /** Opens the dashboard of `served` at `path` and waits until its event stream is open. */
  async function open(served: Served, path = '/wait'): Promise<void> {
    const response = await page.goto(`${served.base}${path}`);
    expect(response?.status()).toBe(200);
    await text(page, '#status', 'live');
  }

  async function small(
    options: WaitDashboardOptions | undefined,
    setup?: (registry: PollingRegistry) => void,
  ): Promise<Served> {
    const served = await serve(options, setup);
    apps.push(served.app);
    return served;
  }

  describe("on the sample's AppModule", () => {
    let sample: Served;
    const env: Record<string, string | undefined> = {
      // One run at boot, then an hour's wait: every later run is one a test made.
      CONTAINER_GC_PERIOD: '1h',
      IMAGE_GC_HIGH_THRESHOLD_PERCENT: '100',
      POD_NAME: POD,
      // The in-memory lease store: this replica is the whole cluster, and leads it.
      REDIS_URL: undefined,
      DATABASE_URL: undefined,
    };
    const before = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
    const setEnv = (values: Record<string, string | undefined>) => {
      for (const [key, value] of Object.entries(values)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    };

    beforeAll(async () => {
      setEnv(env);
      const { AppModule } = await import('../../sample/app.module.js');
      const ref = await Test.createTestingModule({ imports: [AppModule] }).compile();
      sample = await listen(ref.createNestApplication({ logger: false }));
      await until('the first container GC run', () =>
        sample.registry.get(CONTAINER_GC).lastOutcome === 'succeeded' ? true : undefined,
      );
    });

    afterAll(async () => {
      await sample?.app.close();
      setEnv(before);
    });

    afterEach(async () => {
      // Each test leaves container GC running and the runtime up, as it found them.
      sample.app.get(ContainerRuntime).outage = false;
      if (sample.registry.get(CONTAINER_GC).state !== 'running')
        await sample.registry.start(CONTAINER_GC);
    });

    it('(a) loads at /wait: live, read-write, this replica the one member and the leader', async () => {
      await open(sample);
      await text(page, '#mode', 'read-write');
      await text(page, '#leader', POD);
      expect(await page.locator('#members li').count()).toBe(1);
      expect(await page.locator('#members li').textContent()).toContain(POD);
      expect(errors).toEqual([]);
    });

    it('(a) shows a row per sample loop, with its state and owner', async () => {
      await open(sample);
      await text(page, `${row(CONTAINER_GC)} [data-field="state"]`, 'running');
      await text(page, `${row(IMAGE_GC)} [data-field="state"]`, 'stopped');
      await text(page, `${row(CONTAINER_GC)} [data-field="owner"]`, POD);
      expect(await page.locator('tr[data-loop]').count()).toBe(sample.registry.list().length);
    });

    it('(b) puts a run on the timeline within a second of its start, then its outcome', async () => {
      await open(sample);
      // The row is on the page (with the boot run on its timeline, or none: the page may only
      // show the runs it saw happen).
      await page.locator(`${row(CONTAINER_GC)} [data-timeline]`).waitFor({ state: 'attached' });
      const shown = await page.locator(runsOf(CONTAINER_GC)).count();
      const started = firstValueFrom(
        sample.registry.events$.pipe(
          filter((e) => e.name === CONTAINER_GC && e.type === 'started'),
        ),
      );
      const run = sample.registry.trigger(CONTAINER_GC);
      const startedAt = (await started).at.getTime();
      const seenAt = await more(page, runsOf(CONTAINER_GC), shown);
      expect(seenAt - startedAt).toBeLessThan(1000);
      await run;
      await page.waitForFunction(
        (s) =>
          [...document.querySelectorAll(s)].at(-1)?.getAttribute('data-outcome') === 'succeeded',
        runsOf(CONTAINER_GC),
      );
      // A failed run: the fake runtime down.
      sample.app.get(ContainerRuntime).outage = true;
      const count = await page.locator(runsOf(CONTAINER_GC)).count();
      await sample.registry.trigger(CONTAINER_GC);
      await more(page, runsOf(CONTAINER_GC), count);
      await page.waitForFunction(
        (s) => [...document.querySelectorAll(s)].at(-1)?.getAttribute('data-outcome') === 'failed',
        runsOf(CONTAINER_GC),
      );
      const outcomes = await page.evaluate(
        (s) => [...document.querySelectorAll(s)].map((r) => r.getAttribute('data-outcome')),
        runsOf(CONTAINER_GC),
      );
      for (const outcome of outcomes) expect(['running', 'succeeded', 'failed']).toContain(outcome);
    });

    it('(b) keeps the last 30 runs on the timeline', async () => {
      await open(sample);
      await page.locator(`${row(CONTAINER_GC)} [data-timeline]`).waitFor({ state: 'attached' });
      for (let i = 0; i < 32; i++) await sample.registry.trigger(CONTAINER_GC);
      const last = sample.registry.get(CONTAINER_GC).iterations;
      await until('the page to show the last run', async () =>
        (await page.locator(runsOf(CONTAINER_GC)).count()) === 30 ? true : undefined,
      ).catch(async () => {
        throw new Error(
          `expected 30 runs on the timeline, got ${await page.locator(runsOf(CONTAINER_GC)).count()} (${last} runs made)`,
        );
      });
    });

    it('(c) trigger runs the loop; pause shows it paused; resume runs it again', async () => {
      await open(sample);
      const loop = () => sample.registry.get(CONTAINER_GC);
      const button = (action: string) =>
        page.locator(`${row(CONTAINER_GC)} button${attr('data-action', action)}`);

      const runs = loop().iterations;
      await button('trigger').click();
      await text(page, '#status', `trigger ${CONTAINER_GC}: 200`);
      expect(loop().iterations).toBeGreaterThan(runs);

      await button('pause').click();
      await text(page, '#status', `pause ${CONTAINER_GC}: 200`);
      await text(page, `${row(CONTAINER_GC)} [data-field="state"]`, 'paused');
      expect(loop().state).toBe('paused');
      expect(await button('pause').count()).toBe(0);

      const paused = loop().iterations;
      await button('resume').click();
      await text(page, '#status', `resume ${CONTAINER_GC}: 200`);
      await text(page, `${row(CONTAINER_GC)} [data-field="state"]`, 'running');
      // Started again, it runs at once (no initial delay).
      await until('a run after the resume', () => (loop().iterations > paused ? true : undefined));
      expect(await button('pause').count()).toBe(1);
    });

    it('(g) the detail link opens the detail view of its loop', async () => {
      await open(sample);
      const link = page.locator(`${row(CONTAINER_GC)} a[data-detail]`);
      expect(await link.getAttribute('href')).toBe(`#loop=${encodeURIComponent(CONTAINER_GC)}`);
      await link.click();
      await page.locator('section#detail').waitFor({ state: 'visible' });
      await text(page, 'section#detail [data-detail-name]', CONTAINER_GC);
      // Its wide timeline draws two runs apart, on its own width.
      await sample.registry.trigger(CONTAINER_GC);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await sample.registry.trigger(CONTAINER_GC);
      const bars = 'section#detail [data-timeline] [data-run]';
      await page.waitForFunction((s) => document.querySelectorAll(s).length >= 2, bars);
      // Placed by a transform: two runs 300 ms apart get two places (not all at the left edge,
      // as on a strip whose width read 0).
      const places = await page.evaluate(
        (s) =>
          [...document.querySelectorAll(s)].map(
            (b) => /translateX\(([\d.]+)px\)/.exec(b.getAttribute('style') ?? '')?.[1],
          ),
        bars,
      );
      expect(new Set(places.map(Number).map(Math.round)).size).toBeGreaterThan(1);
    });
  });

  it('(d) read-only (the default): no button on the page, and its POSTs answer 403', async () => {
    const served = await small(undefined, (registry) =>
      registry.add('gc', () => undefined, { period: '1h' }),
    );
    await until('the first gc run', () =>
      served.registry.get('gc').iterations === 1 ? true : undefined,
    );
    await open(served);
    // #mode is written at the end of each render: the loops are on the page by then.
    await text(page, '#mode', 'read-only');
    expect(await page.locator('body').textContent()).toContain('gc');
    expect(await page.locator('button').count()).toBe(0);
    for (const action of ['trigger', 'pause', 'resume'])
      expect([action, await post(page, 'gc', action)]).toEqual([action, 403]);
    expect(served.registry.get('gc')).toMatchObject({ state: 'running', iterations: 1 });
  });

  it('(e) a guard that says no: 403 for the page and every API route', async () => {
    const no: CanActivate = { canActivate: () => false };
    let runs = 0;
    const served = await small({ readOnly: false, guard: no }, (registry) =>
      registry.add('gc', () => void runs++, { period: '1h' }),
    );
    await until('the first gc run', () => (runs === 1 ? true : undefined));
    const response = await page.goto(`${served.base}/wait`);
    expect(response?.status()).toBe(403);
    expect(await page.locator('#status').count()).toBe(0);
    for (const path of ['/wait/api/state', '/wait/api/events'])
      expect([path, (await page.goto(`${served.base}${path}`))?.status()]).toEqual([path, 403]);
    for (const action of ['trigger', 'pause', 'resume']) {
      const answer = await fetch(`${served.base}/wait/api/loops/gc/${action}`, {
        method: 'POST',
        headers: { 'X-Wait-Dashboard': '1' },
      });
      expect([action, answer.status]).toEqual([action, 403]);
    }
    expect(runs).toBe(1);
    expect(served.registry.get('gc').state).toBe('running');
  });

  describe('a loop name and an error message holding HTML', () => {
    let served: Served;

    beforeEach(async () => {
      served = await small({ readOnly: false }, (registry) => {
        registry.add(HOSTILE, () => undefined, { period: '1h' });
        registry.add('failing', () => Promise.reject(new Error(HOSTILE_ERROR)), { period: '1h' });
      });
      await until('the failing run', () =>
        served.registry.get('failing').lastErrorMessage ? true : undefined,
      );
    });

    /** No element the strings could have made, no alert, no script error. */
    async function inert(): Promise<void> {
      expect(await page.evaluate(() => document.querySelectorAll('img, x-probe').length)).toBe(0);
      expect(dialogs).toEqual([]);
      expect(errors).toEqual([]);
    }

    it('(f) are shown as text on the page', async () => {
      await open(served);
      await page.waitForFunction(
        ([a, b]) =>
          document.body.textContent!.includes(a) && document.body.textContent!.includes(b),
        [HOSTILE, HOSTILE_ERROR] as const,
      );
      await inert();
    });

    it('(f) are shown as text in their rows and in the detail view', async () => {
      await open(served);
      await page.locator(row(HOSTILE)).waitFor();
      expect(await page.locator(row(HOSTILE)).textContent()).toContain(HOSTILE);
      await page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent?.includes(t), [
        row('failing'),
        HOSTILE_ERROR,
      ] as const);
      const link = page.locator(`${row(HOSTILE)} a[data-detail]`);
      expect(await link.getAttribute('href')).toBe(`#loop=${encodeURIComponent(HOSTILE)}`);
      await link.click();
      await page.locator('section#detail').waitFor({ state: 'visible' });
      await text(page, 'section#detail [data-detail-name]', HOSTILE);
      await inert();
    });
  });
});
