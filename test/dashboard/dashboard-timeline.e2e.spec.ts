import { jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import { PollingRegistry, WaitModule } from '../../lib/index.js';
import { WaitDashboardModule, type DashboardSnapshot } from '../../lib/dashboard/index.js';
import { DashboardFeed } from '../../lib/dashboard/dashboard.feed.js';
import type { DashboardSettings } from '../../lib/dashboard/dashboard.options.js';
import { FakeClock, FakeCluster } from '../../lib/testing/index.js';
import { addLoops, bootReplica, Downstream, type App } from '../cluster/support.js';
import { appOn, listening, sse } from './support.js';

/*
 * The timelines: each loop's recent runs in GET api/state and as SSE `timeline` events, from
 * events$ for the loops this replica runs and from the cluster's view for the others.
 */

describe.each(['express', 'fastify'] as const)(
  'the timeline of a loop this replica runs (HTTP, %s)',
  (adapter) => {
    let app: INestApplication;
    let base: string;
    let registry: PollingRegistry;

    beforeEach(async () => {
      const ref = await Test.createTestingModule({
        imports: [WaitModule.forRoot(), WaitDashboardModule.forRoot()],
      }).compile();
      app = appOn(adapter, ref);
      base = `${await listening(app)}/wait`;
      registry = app.get(PollingRegistry);
    });
    afterEach(() => app.close());

    it('GET api/state answers the runs so far and the registry clock time', async () => {
      let n = 0;
      const fail = () => {
        if (++n === 2) throw new Error('second');
      };
      registry.add('gc', fail, { period: '1h', initialDelay: '1h' });
      await registry.trigger('gc');
      await registry.trigger('gc');
      const state = (await (await fetch(`${base}/api/state`)).json()) as DashboardSnapshot;
      expect(Math.abs(state.now - Date.now())).toBeLessThan(1000);
      const runs = state.runs.filter((r) => r.name === 'gc');
      expect(runs.map((r) => r.outcome)).toEqual(['succeeded', 'failed']);
      for (const r of runs) expect(r.end).toBeGreaterThanOrEqual(r.start);
      expect(runs[0].start).toBeLessThanOrEqual(runs[1].start);
    });

    it('SSE: the runs so far at connect, then each run as it starts and as it ends', async () => {
      let release: () => void = () => undefined;
      registry.add('slow', () => new Promise<void>((resolve) => (release = resolve)), {
        period: '1h',
        initialDelay: '1h',
      });
      registry.add('done', () => undefined, { period: '1h' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const controller = new AbortController();
      const stream = sse(await fetch(`${base}/api/events`, { signal: controller.signal }));
      const timelines = () =>
        stream.events.filter((e) => e.event === 'timeline').map((e) => e.data as DashboardSnapshot);
      await stream.until(() => timelines().length > 0);
      expect(timelines()[0].runs).toEqual([
        {
          name: 'done',
          start: expect.any(Number) as number,
          end: expect.any(Number) as number,
          outcome: 'succeeded',
        },
      ]);
      const triggered = registry.trigger('slow');
      await stream.until(() => timelines().some((t) => t.runs[0]?.name === 'slow'));
      const started = timelines().find((t) => t.runs[0]?.name === 'slow')!;
      expect(started.runs).toEqual([
        { name: 'slow', start: expect.any(Number) as number, outcome: 'running' },
      ]);
      release();
      await triggered;
      await stream.until(() =>
        timelines().some((t) => t.runs[0]?.outcome === 'succeeded' && t.runs[0].name === 'slow'),
      );
      const ended = timelines().find(
        (t) => t.runs[0]?.name === 'slow' && t.runs[0].outcome !== 'running',
      )!;
      expect(ended.runs[0].start).toBe(started.runs[0].start);
      expect(ended.runs[0].end).toBeGreaterThanOrEqual(started.runs[0].start);
      controller.abort();
    });
  },
);

describe('the timeline of a loop another replica runs (FakeCluster)', () => {
  const RETRY = 2000;
  let cluster: FakeCluster;
  let apps: App[];

  beforeEach(() => {
    cluster = new FakeCluster({ name: 'dash' });
    apps = [];
  });
  afterEach(async () => {
    for (const a of apps) if (a.replica.state === 'up') await cluster.clock.runUntil(a.app.close());
  });

  const feedOf = (a: App) =>
    new DashboardFeed(a.registry, { readOnly: true, path: '/wait' } as DashboardSettings);

  it('shows each run the cluster view saw, once, with its outcome; the owner shows every run', async () => {
    const downstream = new Downstream(cluster);
    for (const id of ['r0', 'r1']) apps.push(await bootReplica(cluster.replica(id)));
    // The feeds first: the owner's follows every run from the first.
    const feeds = apps.map(feedOf);
    for (const a of apps) {
      addLoops(a, downstream, { count: 1, prefix: 'job', period: 5000, duration: 200 });
    }
    await cluster.clock.advance(3 * RETRY);
    const owner = apps.findIndex((a) => a.registry.get('job-0').owner === a.replica.identity);
    expect(owner).toBeGreaterThanOrEqual(0);
    const other = 1 - owner;
    // The other replica reads the cluster's view every second (the feed's refresh), in between
    // runs and during them: each run appears once.
    for (let i = 0; i < 30; i++) {
      await cluster.clock.advance(1000);
      await cluster.clock.runUntil(feeds[other].read());
    }
    const remote = (await cluster.clock.runUntil(feeds[other].snapshot())).runs;
    const local = (await cluster.clock.runUntil(feeds[owner].snapshot())).runs;
    const ran = downstream.of('job-0').map((r) => ({ start: r.start, end: r.end }));
    // The owner followed its own runs from events$ (the loop's first run, before r1 took it
    // over, was r0's).
    const mine = downstream.of('job-0').filter((r) => r.replica === apps[owner].replica.identity);
    expect(local.map((r) => r.start)).toEqual(mine.map((r) => r.start));
    // The other replica saw every run: its own, and the owner's from the cluster's view, each
    // once, with its end, whether a read came during the run or only after it.
    expect(remote.map((r) => ({ start: r.start, end: r.end }))).toEqual(ran);
    expect(remote.every((r) => r.outcome === 'succeeded')).toBe(true);
    expect(ran.length).toBeGreaterThanOrEqual(6);
    for (const f of feeds) await f.onModuleDestroy();
  });
});

describe("the feed's refresh, on the registry's clock (FakeClock)", () => {
  it('reads once a second while a client listens, once 100 ms after a burst of runs, and never after the last left', async () => {
    const clock = new FakeClock();
    const ref = await Test.createTestingModule({
      imports: [WaitModule.forRoot({ clock }), WaitDashboardModule.forRoot()],
    }).compile();
    const app = ref.createNestApplication({ logger: false });
    await app.init();
    try {
      const registry = app.get(PollingRegistry);
      registry.add('gc', () => undefined, { period: '1h', initialDelay: '1h' });
      const feed = app.get(DashboardFeed);
      const list = jest.spyOn(registry, 'list');
      const idle = clock.pendingTimers;
      const states: string[] = [];
      const a = feed.stream().subscribe((m) => m.type === 'state' && states.push(m.data as string));
      const b = feed.stream().subscribe(() => undefined);
      await clock.advance(0);
      // One read at the first client's connect, shared by the second.
      expect(list).toHaveBeenCalledTimes(1);
      await clock.advance(999);
      expect(list).toHaveBeenCalledTimes(1);
      await clock.advance(1);
      expect(list).toHaveBeenCalledTimes(2);
      await clock.advance(3000);
      expect(list).toHaveBeenCalledTimes(5);
      // Three runs at once: one read, 100 ms after the first.
      await clock.advance(200);
      for (let i = 0; i < 3; i++) void registry.trigger('gc');
      await clock.advance(99);
      expect(list).toHaveBeenCalledTimes(5);
      await clock.advance(1);
      expect(list).toHaveBeenCalledTimes(6);
      // Only changes are sent: the state changed with the runs, not with each tick.
      expect(states.length).toBeLessThan(list.mock.calls.length);
      a.unsubscribe();
      await clock.advance(2000);
      expect(list).toHaveBeenCalledTimes(8);
      b.unsubscribe();
      await clock.advance(10_000);
      expect(list).toHaveBeenCalledTimes(8);
      // No timer of the feed is left: only the loop's own.
      expect(clock.pendingTimers).toBe(idle);
    } finally {
      await app.close();
    }
  });
});
