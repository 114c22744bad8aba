/*
 * ManagedLoop start() while a stop or a one-shot run is settling: the restart waits for the run in
 * flight, never overlapping it.
 */
import { observe } from '../../support/helpers.js';
import { setup } from './support.js';

describe('ManagedLoop', () => {
  describe('start() while a stop or a one-shot run is settling', () => {
    it('after stop(): the loop starts once the run in flight settled, never overlapping', async () => {
      const h = setup({ settings: { initialDelay: 20 }, plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(30);
      const stopped = observe(h.loop.stop(), h.clock);
      await h.clock.advance(10);
      h.loop.start();
      expect(h.loop.state).toBe('running');
      expect(h.loop.inFlight).toBe(true);
      await h.clock.advance(100);
      expect(stopped).toEqual({ state: 'resolved', at: 50 });
      // Run 1 at 20 (initial delay) settles at 50; the restart waits its initial delay from there.
      expect(h.starts).toEqual([20, 70]);
      expect(h.log).toEqual([
        'started #1 @20',
        'succeeded #1 (0) @50',
        'stopped @50',
        'started #2 @70',
        'succeeded #2 (0) @100',
      ]);
      expect(h.maxInFlight).toBe(1);
      await h.finish();
    });

    it('nextRunAt is unknown while the stop settles, then the restart\u2019s first run', async () => {
      // Non-sliding: the stopping session still holds the target it planned for a next run (150)
      // that will never come; the restart runs at 80 + initialDelay instead.
      const h = setup({ settings: { sliding: false, initialDelay: 50 }, plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(60); // run 1: 50..80
      void h.loop.stop();
      h.loop.start();
      expect(h.loop.nextRunAt).toBeUndefined();
      await h.clock.advance(20); // the stop settled at 80
      expect(h.loop.nextRunAt).toBe(130);
      await h.clock.advance(50);
      expect(h.starts).toEqual([50, 130]);
      await h.finish();
    });

    it('stop(); start() in one tick during a wait: one stop reported, the initial delay again', async () => {
      const h = setup({ settings: { initialDelay: 5 } });
      h.loop.start();
      await h.clock.advance(50);
      const stopped = observe(h.loop.stop(), h.clock);
      h.loop.start();
      await h.clock.advance(110);
      expect(stopped).toEqual({ state: 'resolved', at: 50 });
      expect(h.starts).toEqual([5, 55, 155]);
      expect(h.log.filter((line) => line.startsWith('stopped'))).toEqual(['stopped @50']);
      await h.finish();
    });

    it('stop(); start(); stop() in one tick: the loop stays stopped', async () => {
      const h = setup();
      h.loop.start();
      await h.clock.advance(50);
      const a = observe(h.loop.stop(), h.clock);
      h.loop.start();
      const b = observe(h.loop.stop(), h.clock);
      await h.clock.advance(500);
      expect([a, b]).toEqual([
        { state: 'resolved', at: 50 },
        { state: 'resolved', at: 50 },
      ]);
      expect(h.starts).toEqual([0]);
      expect(h.loop.state).toBe('stopped');
      await h.finish();
    });

    it('during a one-shot run: the loop starts once that run settled', async () => {
      const h = setup({ plan: () => ({ ms: 30 }) });
      const triggered = observe(h.loop.trigger(), h.clock);
      await h.clock.advance(10);
      h.loop.start();
      expect(h.loop.state).toBe('running');
      expect(h.loop.nextRunAt).toBeUndefined();
      await h.clock.advance(200);
      expect(triggered).toEqual({ state: 'resolved', at: 30 });
      expect(h.starts).toEqual([0, 30, 160]);
      expect(h.maxInFlight).toBe(1);
      expect(h.log.some((line) => line.startsWith('stopped'))).toBe(false);
      await h.finish();
    });

    it('start() then trigger() on a stopped loop in one tick: one run serves both', async () => {
      const h = setup();
      h.loop.start();
      const triggered = observe(h.loop.trigger(), h.clock);
      await h.clock.advance(150);
      expect(triggered).toEqual({ state: 'resolved', at: 0 });
      expect(h.starts).toEqual([0, 100]);
      await h.finish();
    });

    it('trigger() then start() on a stopped loop in one tick: the one-shot runs, then the loop', async () => {
      const h = setup({ settings: { initialDelay: 40 } });
      const triggered = observe(h.loop.trigger(), h.clock);
      h.loop.start();
      await h.clock.advance(150);
      expect(triggered).toEqual({ state: 'resolved', at: 0 });
      expect(h.starts).toEqual([0, 40, 140]);
      await h.finish();
    });
  });
});
