/*
 * What a ManagedLoop reports about itself: nextRunAt and inFlight over its life, and the
 * observer’s calls (order, counters of the moment, a throwing observer).
 */
import { observe } from '../../support/helpers.js';
import { setup } from './support.js';

describe('ManagedLoop', () => {
  describe('nextRunAt and inFlight', () => {
    it('follow the loop: planned time, now before a triggered run, the target of a non-sliding run', async () => {
      const h = setup({ settings: { sliding: false, initialDelay: 10 }, plan: () => ({ ms: 5 }) });
      const seen: unknown[] = [];
      const look = (): void => void seen.push([h.loop.inFlight, h.loop.nextRunAt]);
      look(); // never started
      h.loop.start();
      await h.clock.flush();
      look(); // initial delay
      await h.clock.advance(12);
      look(); // run 1 in flight (10..15), next at 110
      await h.clock.advance(8);
      look(); // waiting for 110
      void h.loop.trigger();
      look(); // a trigger is about to run: now
      await h.clock.flush();
      look(); // the triggered run is in flight, next at 120
      void h.loop.trigger();
      look(); // a run follows the one in flight: not known
      await h.clock.advance(100);
      void h.loop.stop();
      look();
      await h.clock.advance(100);
      expect(seen).toEqual([
        [false, undefined],
        [false, 10],
        [true, 110],
        [false, 110],
        [false, 20],
        [true, 120],
        [true, undefined],
        [false, undefined],
      ]);
      await h.finish();
    });
  });

  describe('the observer', () => {
    it('hears each run start and end, then the stop, in order, seeing the counters of the moment', async () => {
      const seen: string[] = [];
      const h = setup({
        settings: { period: 20 },
        plan: (n) => ({ ms: n === 3 ? undefined : 10, fail: n === 2 || n === 3 }),
        observer: {
          runStarted: (loop) => void seen.push(`inFlight=${loop.inFlight}`),
          runFailed: (loop) => void seen.push(`consecutive=${loop.consecutiveFailures}`),
          runSucceeded: (loop) => void seen.push(`lastSucceededAt=${loop.lastSucceededAt}`),
          stopped: (loop) => void seen.push(`stopped ${loop.state} inFlight=${loop.inFlight}`),
        },
      });
      h.loop.start();
      await h.clock.advance(115);
      void h.loop.stop().then(() => h.log.push(`stop resolved @${h.clock.now()}`));
      await h.clock.advance(100);
      expect(h.log).toEqual([
        'started #1 @0',
        'succeeded #1 (0) @10',
        'started #2 @30',
        'failed #2 run 2 @40',
        'started #3 @60',
        'failed #3 run 3 @60',
        'started #4 @80',
        'succeeded #4 (2) @90',
        'started #5 @110',
        'succeeded #5 (0) @120',
        'stopped @120',
        'stop resolved @120',
      ]);
      expect(seen).toEqual([
        'inFlight=true',
        'lastSucceededAt=10',
        'inFlight=true',
        'consecutive=1',
        'inFlight=true',
        'consecutive=2',
        'inFlight=true',
        'lastSucceededAt=90',
        'inFlight=true',
        'lastSucceededAt=120',
        'stopped stopped inFlight=false',
      ]);
      await h.finish();
    });

    it('a throwing runFailed ends the loop: the error is kept, the stop reported, pending triggers resolve', async () => {
      const fatal = new Error('observer');
      const h = setup({
        plan: (n) => ({ ms: 10, fail: n === 2 }),
        observer: {
          runFailed: () => {
            throw fatal;
          },
        },
      });
      h.loop.start();
      await h.clock.advance(50);
      const triggered = observe(h.loop.trigger(), h.clock);
      await h.clock.advance(500);
      expect(h.starts).toEqual([0, 50]);
      expect(h.loop.state).toBe('stopped');
      expect(h.loop.lastError).toBe(fatal);
      expect(h.log.at(-1)).toBe('stopped @60');
      expect(triggered).toEqual({ state: 'resolved', at: 60 });
      await h.finish();
    });
  });
});
