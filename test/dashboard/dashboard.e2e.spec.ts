import {
  type CanActivate,
  type INestApplication,
  Injectable,
  type ModuleMetadata,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { jest } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import { PollingRegistry, WaitModule } from '../../lib/index.js';
import { WaitDashboardModule, type WaitDashboardOptions } from '../../lib/dashboard/index.js';
import { DASHBOARD_PAGE } from '../../lib/dashboard/dashboard.page.js';
import { type Adapter, appOn, listening, sse } from './support.js';

/* The dashboard through a real HTTP server, on each of Nest's adapters, with fetch. */

const HOSTILE = '<img src=x onerror=alert(1)>';

interface Served {
  app: INestApplication;
  base: string;
  registry: PollingRegistry;
}

let served: Served | undefined;

async function serveOn(
  adapter: Adapter,
  options: WaitDashboardOptions | undefined,
  metadata: ModuleMetadata = {},
  dashboard = true,
): Promise<Served> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      WaitModule.forRoot(),
      ...(dashboard ? [WaitDashboardModule.forRoot(options)] : []),
      ...(metadata.imports ?? []),
    ],
    providers: metadata.providers ?? [],
  }).compile();
  const app = appOn(adapter, moduleRef);
  const origin = await listening(app);
  const registry = app.get(PollingRegistry);
  // A loop that runs once at start, then waits an hour: the tests trigger it.
  registry.add(HOSTILE, () => undefined, { period: '1h' });
  registry.add('failing', () => Promise.reject(new Error(HOSTILE)), { period: '1h' });
  served = { app, base: origin, registry };
  return served;
}

afterEach(async () => {
  await served?.app.close();
  served = undefined;
});

const write = { 'X-Wait-Dashboard': '1' };
const loopUrl = (base: string, name: string, action: string) =>
  `${base}/wait/api/loops/${encodeURIComponent(name)}/${action}`;

describe.each<Adapter>(['express', 'fastify'])('on %s', (adapter) => {
  const serve = (
    options: WaitDashboardOptions | undefined,
    metadata?: ModuleMetadata,
    dashboard?: boolean,
  ) => serveOn(adapter, options, metadata, dashboard);

  describe('the page', () => {
    it('is served as self-contained HTML that writes data with DOM APIs only', async () => {
      const { base } = await serve(undefined);
      const response = await fetch(`${base}/wait`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      const html = await response.text();
      expect(html).toBe(DASHBOARD_PAGE);
      // No CDN, nothing from elsewhere.
      expect(html).not.toMatch(/https?:\/\//);
      expect(html).not.toMatch(/\bsrc=/);
      // Every value is written with textContent: no innerHTML/outerHTML/insertAdjacentHTML/write.
      expect(html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
      expect(html).toMatch(/textContent/);
    });

    it('is small: 3,801 bytes gzipped (8,396 raw), measured with zlib.gzipSync', () => {
      // A bound rather than the exact figure, so that small edits to the page do not fail it.
      expect(gzipSync(DASHBOARD_PAGE).length).toBeLessThan(4000);
    });

    it('is not served without WaitDashboardModule', async () => {
      const { base } = await serve(undefined, {}, false);
      expect((await fetch(`${base}/wait`)).status).toBe(404);
      expect((await fetch(`${base}/wait/api/state`)).status).toBe(404);
    });

    it('is served at a custom path', async () => {
      const { base } = await serve({ path: '/ops/loops' });
      expect((await fetch(`${base}/ops/loops`)).status).toBe(200);
      expect((await fetch(`${base}/ops/loops/api/state`)).status).toBe(200);
      expect((await fetch(`${base}/wait`)).status).toBe(404);
    });
  });

  describe('GET /wait/api/state', () => {
    it('answers loops (raw names, ISO dates, lastErrorMessage without lastError), members, readOnly', async () => {
      const { base, registry } = await serve(undefined);
      await registry.trigger('failing');
      const response = await fetch(`${base}/wait/api/state`);
      expect(response.status).toBe(200);
      const state = (await response.json()) as {
        loops: Record<string, unknown>[];
        members: unknown[];
        readOnly: boolean;
      };
      expect(state.readOnly).toBe(true);
      expect(state.members).toEqual([]);
      expect(state.loops.map((loop) => loop.name)).toEqual([HOSTILE, 'failing']);
      const failing = state.loops[1];
      expect(failing.lastOutcome).toBe('failed');
      expect(failing.lastErrorMessage).toContain(HOSTILE);
      expect(failing).not.toHaveProperty('lastError');
      expect(failing.lastEndedAt).toEqual(new Date(failing.lastEndedAt as string).toISOString());
      expect(failing.placement).toBe('every');
    });
  });

  describe('GET /wait/api/events', () => {
    it('sends the recent runs and the state at connect, then run events after registry.trigger()', async () => {
      const { base, registry } = await serve(undefined);
      const controller = new AbortController();
      const response = await fetch(`${base}/wait/api/events`, { signal: controller.signal });
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const stream = sse(response);
      await stream.until((events) => events.some((event) => event.event === 'state'));
      // The recent runs come first (for the timelines), then the state.
      expect(stream.events.map((event) => event.event).slice(0, 2)).toEqual(['timeline', 'state']);
      const first = stream.events[1];
      expect((first.data as { loops: { name: string }[] }).loops[0].name).toBe(HOSTILE);
      void registry.trigger(HOSTILE);
      await stream.until((events) =>
        events.some(
          (event) => event.event === 'run' && (event.data as { type: string }).type === 'succeeded',
        ),
      );
      const runs = stream.events
        .filter((event) => event.event === 'run')
        .map(
          (event) => event.data as { name: string; type: string; iteration: number; at: string },
        );
      expect(runs.map(({ at: _at, ...run }) => run)).toEqual(
        expect.arrayContaining([
          { name: HOSTILE, type: 'started', iteration: 2 },
          { name: HOSTILE, type: 'succeeded', iteration: 2 },
        ]),
      );
      for (const run of runs) expect(run.at).toBe(new Date(run.at).toISOString());
      controller.abort();
    });

    it('shares one refresh among clients, and stops reading once the last has left', async () => {
      const { base, registry } = await serve(undefined);
      const list = jest.spyOn(registry, 'list');
      const clients = [new AbortController(), new AbortController(), new AbortController()];
      for (const client of clients) {
        const stream = sse(await fetch(`${base}/wait/api/events`, { signal: client.signal }));
        await stream.until((events) => events.length > 0);
      }
      await new Promise((resolve) => setTimeout(resolve, 2200));
      // One read at the first connect and one a second for all three; not three a second.
      expect(list.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(list.mock.calls.length).toBeLessThanOrEqual(4);
      for (const client of clients) client.abort();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const after = list.mock.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(list.mock.calls.length).toBe(after);
    });

    it('app.close() does not hang with an SSE client connected', async () => {
      const { app, base } = await serve(undefined);
      const stream = sse(await fetch(`${base}/wait/api/events`));
      await stream.until((events) => events.length > 0);
      const started = Date.now();
      await app.close();
      served = undefined;
      // Well under the client's 4 s keep-alive, which a kept-alive socket would have waited for.
      expect(Date.now() - started).toBeLessThan(1000);
      // The server ended the stream.
      await expect(stream.until(() => false)).resolves.toBe(true);
    });
  });

  describe('POST /wait/api/loops/:name/…', () => {
    it('read-only (the default): 403 and no effect', async () => {
      const { base, registry } = await serve(undefined);
      const before = registry.get(HOSTILE).iterations;
      for (const action of ['trigger', 'pause', 'resume']) {
        const response = await fetch(loopUrl(base, HOSTILE, action), {
          method: 'POST',
          headers: write,
        });
        expect(response.status).toBe(403);
      }
      expect(registry.get(HOSTILE)).toMatchObject({ iterations: before, state: 'running' });
    });

    it('trigger, pause and resume call the registry when readOnly: false', async () => {
      const { base, registry } = await serve({ readOnly: false });
      const before = registry.get(HOSTILE).iterations;
      const triggered = await fetch(loopUrl(base, HOSTILE, 'trigger'), {
        method: 'POST',
        headers: write,
      });
      expect(triggered.status).toBe(200);
      expect(await triggered.json()).toEqual({ name: HOSTILE, action: 'trigger', done: true });
      expect(registry.get(HOSTILE).iterations).toBe(before + 1);
      const paused = await fetch(loopUrl(base, HOSTILE, 'pause'), {
        method: 'POST',
        headers: write,
      });
      expect(paused.status).toBe(200);
      expect(registry.get(HOSTILE).state).toBe('stopped');
      const resumed = await fetch(loopUrl(base, HOSTILE, 'resume'), {
        method: 'POST',
        headers: write,
      });
      expect(resumed.status).toBe(200);
      expect(registry.get(HOSTILE).state).toBe('running');
    });

    it('409 with the message when the registry refuses', async () => {
      const { base, registry } = await serve({ readOnly: false });
      jest.spyOn(registry, 'trigger').mockRejectedValue(new Error('the loop is paused'));
      const response = await fetch(loopUrl(base, HOSTILE, 'trigger'), {
        method: 'POST',
        headers: write,
      });
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({ message: 'the loop is paused' });
    });

    it('404 for an unknown loop or action', async () => {
      const { base } = await serve({ readOnly: false });
      const response = await fetch(loopUrl(base, 'nope', 'trigger'), {
        method: 'POST',
        headers: write,
      });
      expect(response.status).toBe(404);
      const action = await fetch(loopUrl(base, HOSTILE, 'explode'), {
        method: 'POST',
        headers: write,
      });
      expect(action.status).toBe(404);
    });

    it('CSRF: 403 without the X-Wait-Dashboard header, or with a foreign Origin; a matching Origin passes', async () => {
      const { base, registry } = await serve({ readOnly: false });
      const before = registry.get(HOSTILE).iterations;
      const bare = await fetch(loopUrl(base, HOSTILE, 'trigger'), { method: 'POST' });
      expect(bare.status).toBe(403);
      const foreign = await fetch(loopUrl(base, HOSTILE, 'trigger'), {
        method: 'POST',
        headers: { ...write, Origin: 'http://evil.example' },
      });
      expect(foreign.status).toBe(403);
      expect(registry.get(HOSTILE).iterations).toBe(before);
      const same = await fetch(loopUrl(base, HOSTILE, 'trigger'), {
        method: 'POST',
        headers: { ...write, Origin: base },
      });
      expect(same.status).toBe(200);
    });
  });

  describe('guard', () => {
    @Injectable()
    class Refuse implements CanActivate {
      canActivate() {
        return false;
      }
    }

    it.each([
      ['a class', Refuse],
      ['an instance', new Refuse()],
    ])('%s refusing gives 403 on every route', async (_kind, guard) => {
      const { base, registry } = await serve({ readOnly: false, guard });
      const before = registry.get(HOSTILE).iterations;
      expect((await fetch(`${base}/wait`)).status).toBe(403);
      expect((await fetch(`${base}/wait/api/state`)).status).toBe(403);
      expect((await fetch(`${base}/wait/api/events`)).status).toBe(403);
      const post = await fetch(loopUrl(base, HOSTILE, 'trigger'), {
        method: 'POST',
        headers: write,
      });
      expect(post.status).toBe(403);
      expect(registry.get(HOSTILE).iterations).toBe(before);
    });

    it('a guard allowing passes', async () => {
      const { base } = await serve({ guard: { canActivate: () => true } });
      expect((await fetch(`${base}/wait/api/state`)).status).toBe(200);
    });
  });
});

describe('options', () => {
  it.each([
    [{ path: 'wait' }, 'path must start with "/", have no trailing slash', '"wait"'],
    [{ path: '/wait/' }, 'path must start', '"/wait/"'],
    [{ path: '/:name' }, 'path must start', '"/:name"'],
    [{ path: 42 }, 'path must start', '42'],
    [{ readOnly: 'no' }, 'readOnly must be a boolean', '"no"'],
    [{ guard: {} }, 'guard must be a CanActivate class or instance', '[object Object]'],
    [{ guard: class NotAGuard {} }, 'guard must be a CanActivate class or instance', 'NotAGuard'],
  ])('%j throws naming the value and forRoot()', (options, message, value) => {
    const call = () => WaitDashboardModule.forRoot(options as unknown as WaitDashboardOptions);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(`WaitDashboardModule.forRoot(): ${message}`);
    expect(call).toThrow(value);
  });

  it('null options throw', () => {
    expect(() => WaitDashboardModule.forRoot(null as unknown as WaitDashboardOptions)).toThrow(
      'WaitDashboardModule.forRoot(): options must be an object, got null',
    );
  });
});
