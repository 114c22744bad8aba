/*
 * ManagedLoop acted on while its next wait is held back (a batch of runs that has not ended):
 * trigger(), update() and stop() from another loop’s run.
 */
import { ManagedLoop } from '../../../lib/polling/loop/managed-loop.js';
import type { ManagedLoopObserver } from '../../../lib/polling/loop/loop-settings.js';
import { FakeClock } from '../../../lib/testing/index.js';
import { observe, QUIET } from '../../support/helpers.js';
import { settings, stopWithin } from './support.js';

describe('ManagedLoop', () => {
  describe('acted on while its next wait is held back', () => {
    /**
     * Loops A and B start in one tick, so their first runs share a batch: A's synchronous run
     * settles first and its next wait is held back until the batch ends; B's run acts on A then.
     */
    function pair(act: (a: ManagedLoop) => void, sliding = true) {
      const clock = new FakeClock();
      const aStarts: number[] = [];
      const seen: (number | undefined)[] = [];
      const quiet: ManagedLoopObserver = QUIET;
      const a = new ManagedLoop('a', () => void aStarts.push(clock.now()), settings({ sliding }), {
        clock,
        random: () => 0,
        observer: quiet,
      });
      const b = new ManagedLoop(
        'b',
        (ctx) => {
          if (ctx.iteration !== 1) return;
          seen.push(a.nextRunAt);
          act(a);
        },
        settings({ period: 1000 }),
        { clock, random: () => 0, observer: quiet },
      );
      a.start();
      b.start();
      return { clock, a, b, aStarts, seen };
    }

    it.each([true, false])(
      'sliding %s: two triggers in one tick make exactly one run, at once, and none at the old wait',
      async (sliding) => {
        const triggers: ReturnType<typeof observe>[] = [];
        const p = pair((a) => {
          triggers.push(observe(a.trigger(), p.clock), observe(a.trigger(), p.clock));
        }, sliding);
        await p.clock.advance(250);
        expect(p.seen).toEqual([100]); // held back: now + wait
        expect(p.aStarts).toEqual([0, 0, 100, 200]);
        expect(triggers).toEqual([
          { state: 'resolved', at: 0 },
          { state: 'resolved', at: 0 },
        ]);
        await stopWithin(p.a, p.clock);
        await stopWithin(p.b, p.clock);
        expect(p.clock.pendingTimers).toBe(0);
      },
    );

    it.each([true, false])(
      'sliding %s: a new period re-plans the held-back wait',
      async (sliding) => {
        const p = pair((a) => a.update(settings({ sliding, period: 30 })), sliding);
        await p.clock.advance(100);
        expect(p.aStarts).toEqual([0, 30, 60, 90]);
        await stopWithin(p.a, p.clock);
        await stopWithin(p.b, p.clock);
        expect(p.clock.pendingTimers).toBe(0);
      },
    );

    it('stop() resolves at once, and no run follows', async () => {
      const stops: ReturnType<typeof observe>[] = [];
      const p = pair((a) => void stops.push(observe(a.stop(), p.clock)));
      await p.clock.advance(250);
      expect(stops).toEqual([{ state: 'resolved', at: 0 }]);
      expect(p.aStarts).toEqual([0]);
      await stopWithin(p.b, p.clock);
      expect(p.clock.pendingTimers).toBe(0);
    });
  });
});
