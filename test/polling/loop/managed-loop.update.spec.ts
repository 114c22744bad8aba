/*
 * ManagedLoop update(): re-timing a live loop (period, sliding, initial delay, backoff) in a wait,
 * during a run, on a stopped loop and during a one-shot run.
 */
import { ManagedLoop } from '../../../lib/polling/loop/managed-loop.js';
import { FakeClock } from '../../../lib/testing/index.js';
import { QUIET } from '../../support/helpers.js';
import { settings, setup, stopWithin } from './support.js';

describe('ManagedLoop', () => {
  describe('update()', () => {
    it('sliding: a new period re-plans the wait in progress from the end of the last run', async () => {
      const h = setup({ plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(50);
      expect(h.loop.nextRunAt).toBe(110);
      h.loop.update(settings({ period: 200 }));
      await h.clock.flush();
      expect(h.loop.nextRunAt).toBe(210);
      await h.clock.advance(400);
      expect(h.starts).toEqual([0, 210, 420]);
      await h.finish();
    });

    it('sliding: a shorter period whose target has passed runs at once', async () => {
      const h = setup({ plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(50);
      h.loop.update(settings({ period: 20 }));
      await h.clock.advance(40);
      expect(h.starts).toEqual([0, 50, 80]);
      await h.finish();
    });

    it('non-sliding: keeps the anchor at the start of the last run', async () => {
      const h = setup({ settings: { sliding: false }, plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(50);
      h.loop.update(settings({ sliding: false, period: 300 }));
      await h.clock.flush();
      expect(h.loop.nextRunAt).toBe(300);
      await h.clock.advance(600);
      expect(h.starts).toEqual([0, 300, 600]);
      await h.finish();
    });

    it('non-sliding, during a run: the next run comes at its start + the new period', async () => {
      const h = setup({ settings: { sliding: false }, plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(5);
      expect(h.loop.nextRunAt).toBe(100);
      h.loop.update(settings({ sliding: false, period: 300 }));
      expect(h.loop.nextRunAt).toBe(300);
      await h.clock.advance(400);
      expect(h.starts).toEqual([0, 300]);
      await h.finish();
    });

    it('non-sliding, after a run that overran its period: re-plans from that run\u2019s start', async () => {
      // Run 1 (0..150) overran its period of 100: run 2 is due at once (150). A new period of
      // 200 then counts from run 1's start, 0: run 2 at 200, not at 250 (150 - 100 + 200).
      let release!: () => void;
      const clock = new FakeClock();
      const starts: number[] = [];
      const loop = new ManagedLoop(
        'job',
        () => {
          starts.push(clock.now());
          if (starts.length === 1) return new Promise<void>((resolve) => (release = resolve));
        },
        settings({ sliding: false }),
        { clock, random: () => 0, observer: QUIET },
      );
      loop.start();
      await clock.advance(150);
      release();
      await clock.flush(); // run 1 settled at 150; run 2 is queued for 150
      expect(loop.nextRunAt).toBe(150);
      loop.update(settings({ sliding: false, period: 200 }));
      await clock.advance(300);
      expect(starts).toEqual([0, 200, 400]);
      await stopWithin(loop, clock);
      expect(clock.pendingTimers).toBe(0);
    });

    it('a switch to non-sliding applies from the next wait: the wait in progress stays', async () => {
      const h = setup({ plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(50);
      h.loop.update(settings({ sliding: false }));
      await h.clock.advance(220);
      // 130 was planned from run 1's end; from run 2 on the period counts from each start.
      expect(h.starts).toEqual([0, 130, 230]);
      h.loop.update(settings({ sliding: true })); // at 270, waiting for 330
      await h.clock.advance(230);
      // 330 was planned from run 3's start; from run 4 on the period counts from each end.
      expect(h.starts).toEqual([0, 130, 230, 330, 460]);
      await h.finish();
    });

    it('a switch to non-sliding during a run: the next target counts from that run\u2019s start', async () => {
      const h = setup({ plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(140);
      expect(h.loop.nextRunAt).toBeUndefined(); // sliding: not known before the run settles
      h.loop.update(settings({ sliding: false }));
      expect(h.loop.nextRunAt).toBe(230);
      await h.clock.advance(100);
      expect(h.starts).toEqual([0, 130, 230]);
      await h.finish();
    });

    it('a switch to sliding during a run: the next wait counts from that run\u2019s end', async () => {
      const h = setup({ settings: { sliding: false }, plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(10);
      h.loop.update(settings({ sliding: true }));
      await h.clock.advance(300);
      expect(h.starts).toEqual([0, 130, 260]);
      await h.finish();
    });

    it('keeps the initial delay of the first run; the new period applies after it', async () => {
      const h = setup({ settings: { initialDelay: 50 } });
      h.loop.start();
      await h.clock.advance(10);
      h.loop.update(settings({ initialDelay: 50, period: 10 }));
      await h.clock.advance(65);
      expect(h.starts).toEqual([50, 60, 70]);
      await h.finish();
    });

    it('on a stopped loop: the settings apply at the next start', async () => {
      const h = setup();
      h.loop.update(settings({ initialDelay: 30, period: 40 }));
      h.loop.start();
      await h.clock.advance(120);
      expect(h.starts).toEqual([30, 70, 110]);
      await h.finish();
    });

    it('during a one-shot run: no effect on it; the new settings apply to the next start', async () => {
      const h = setup({ plan: () => ({ ms: 10 }) });
      void h.loop.trigger();
      await h.clock.advance(5);
      h.loop.update(settings({ period: 10 }));
      await h.clock.advance(100);
      expect(h.starts).toEqual([0]);
      h.loop.start();
      await h.clock.advance(45);
      expect(h.starts).toEqual([0, 105, 125, 145]);
      await h.finish();
    });

    it('during a backoff wait: the wait stays; the new period applies after the next success', async () => {
      const h = setup({
        settings: { backoff: { initial: 50, max: 50, factor: 2, jitter: 0, resetAfter: 1000 } },
        plan: (n) => ({ fail: n === 1 }),
      });
      h.loop.start();
      await h.clock.advance(10);
      h.loop.update(
        settings({
          period: 20,
          backoff: { initial: 50, max: 50, factor: 2, jitter: 0, resetAfter: 1000 },
        }),
      );
      await h.clock.advance(85);
      expect(h.starts).toEqual([0, 50, 70, 90]);
      await h.finish();
    });

    it('non-sliding: a new period during the run after a failure applies when that run succeeds', async () => {
      // With a backoff, run 1 fails at 0 and run 2 comes at 10. A new period of 300, set while
      // run 2 is in flight, re-plans the wait that started with run 2: run 3 at 10 + 300.
      const backoff = { initial: 10, max: 10, factor: 2, jitter: 0, resetAfter: 1000 };
      const h = setup({
        settings: { sliding: false, backoff },
        plan: (n) => (n === 1 ? { fail: true } : { ms: 20 }),
      });
      h.loop.start();
      await h.clock.advance(15);
      expect(h.starts).toEqual([0, 10]);
      h.loop.update(settings({ sliding: false, backoff, period: 300 }));
      await h.clock.advance(400);
      expect(h.starts).toEqual([0, 10, 310]);
      await h.finish();
    });
  });
});
