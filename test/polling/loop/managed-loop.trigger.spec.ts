/*
 * ManagedLoop trigger(): a run at once while running, waiting or in the initial delay, a one-shot run
 * on a stopped loop, and triggers that meet a stop.
 */
import { observe } from '../../support/helpers.js';
import { setup, triggerWithin } from './support.js';

describe('ManagedLoop', () => {
  describe('trigger()', () => {
    it('while waiting: runs at once, resolves when that run settled; the next wait counts from it', async () => {
      const h = setup({ plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(50);
      const triggered = observe(h.loop.trigger(), h.clock);
      await h.clock.flush();
      expect(h.starts).toEqual([0, 50]);
      await h.clock.advance(200);
      expect(triggered).toEqual({ state: 'resolved', at: 60 });
      expect(h.starts).toEqual([0, 50, 160]);
      await h.finish();
    });

    it('non-sliding: a triggered run starts a new cadence at its own start', async () => {
      const h = setup({ settings: { sliding: false }, plan: () => ({ ms: 10 }) });
      h.loop.start();
      await h.clock.advance(50);
      void h.loop.trigger();
      await h.clock.advance(210);
      expect(h.starts).toEqual([0, 50, 150, 250]);
      await h.finish();
    });

    it('during the initial delay: runs at once, and the period follows from that run', async () => {
      const h = setup({ settings: { initialDelay: 500 } });
      h.loop.start();
      await h.clock.advance(20);
      await triggerWithin(h.loop, h.clock);
      await h.clock.advance(200);
      expect(h.starts).toEqual([20, 120, 220]);
      await h.finish();
    });

    it('during a run: one more run right after it, whatever the number of calls; all resolve when it settled', async () => {
      const h = setup({ plan: () => ({ ms: 30 }) });
      h.loop.start();
      await h.clock.advance(10);
      const early = [h.loop.trigger(), h.loop.trigger(), h.loop.trigger()].map((p) =>
        observe(p, h.clock),
      );
      expect(h.loop.nextRunAt).toBeUndefined();
      await h.clock.advance(10);
      const late = observe(h.loop.trigger(), h.clock);
      await h.clock.advance(250);
      expect(h.starts).toEqual([0, 30, 160]);
      for (const outcome of [...early, late])
        expect(outcome).toEqual({ state: 'resolved', at: 60 });
      await h.finish();
    });

    it('two triggers in the same tick while waiting make exactly one run', async () => {
      const h = setup();
      h.loop.start();
      await h.clock.advance(50);
      const a = observe(h.loop.trigger(), h.clock);
      const b = observe(h.loop.trigger(), h.clock);
      expect(h.loop.nextRunAt).toBe(50);
      await h.clock.advance(100);
      expect(h.starts).toEqual([0, 50, 150]);
      expect([a, b]).toEqual([
        { state: 'resolved', at: 50 },
        { state: 'resolved', at: 50 },
      ]);
      await h.finish();
    });

    it('a failed triggered run resolves the trigger too: errors are counted, not thrown', async () => {
      const h = setup({ plan: (n) => ({ ms: 5, fail: n === 2 }) });
      h.loop.start();
      await h.clock.advance(50);
      const triggered = observe(h.loop.trigger(), h.clock);
      await h.clock.advance(10);
      expect(triggered).toEqual({ state: 'resolved', at: 55 });
      expect([h.loop.failures, h.loop.consecutiveFailures]).toEqual([1, 1]);
      expect((h.loop.lastError as Error).message).toBe('run 2');
      await h.finish();
    });

    it('resolves after the observer heard how its run ended', async () => {
      const order: string[] = [];
      const h = setup({
        plan: (n) => ({ ms: 5, fail: n === 3 }),
        observer: {
          runSucceeded: (loop) => void order.push(`succeeded #${loop.iterations}`),
          runFailed: (loop) => void order.push(`failed #${loop.iterations}`),
        },
      });
      h.loop.start();
      await h.clock.advance(50);
      void h.loop.trigger().then(() => order.push('trigger 1 resolved'));
      await h.clock.advance(10);
      void h.loop.trigger().then(() => order.push('trigger 2 resolved'));
      await h.clock.advance(10);
      expect(order).toEqual([
        'succeeded #1',
        'succeeded #2',
        'trigger 1 resolved',
        'failed #3',
        'trigger 2 resolved',
      ]);
      await h.finish();
    });

    it('a synchronous body that triggers its own loop gets one more run right after it', async () => {
      const triggers: { at: number; runsBefore: number }[] = [];
      const h = setup({
        inside: (n, loop) => {
          if (n > 3) return;
          void loop.trigger().then(() => triggers.push({ at: h.clock.now(), runsBefore: n }));
        },
      });
      h.loop.start();
      await h.clock.advance(150);
      // Runs 1 to 3 each trigger one more: 4 runs at 0, then the period.
      expect(h.starts).toEqual([0, 0, 0, 0, 100]);
      expect(triggers).toEqual([
        { at: 0, runsBefore: 1 },
        { at: 0, runsBefore: 2 },
        { at: 0, runsBefore: 3 },
      ]);
      expect(h.maxInFlight).toBe(1);
      await h.finish();
    });

    it('an asynchronous body that triggers its own loop gets one more run right after it settles', async () => {
      const h = setup({
        plan: () => ({ ms: 10 }),
        inside: (n, loop) => {
          if (n === 1) void loop.trigger();
        },
      });
      h.loop.start();
      await h.clock.advance(150);
      expect(h.starts).toEqual([0, 10, 120]);
      await h.finish();
    });

    describe('on a stopped loop', () => {
      it('runs one iteration alone (a one-shot): the loop stays stopped', async () => {
        const h = setup({ plan: () => ({ ms: 20 }) });
        const triggered = observe(h.loop.trigger(), h.clock);
        expect(h.starts).toEqual([]);
        await h.clock.flush();
        expect(h.starts).toEqual([0]);
        expect(h.loop.state).toBe('stopped');
        expect(h.loop.inFlight).toBe(true);
        expect(h.loop.nextRunAt).toBeUndefined();
        await h.clock.advance(1000);
        expect(triggered).toEqual({ state: 'resolved', at: 20 });
        expect(h.starts).toEqual([0]);
        expect(h.log).toEqual(['started #1 @0', 'succeeded #1 (0) @20']);
        expect(h.clock.pendingTimers).toBe(0);
        await h.finish();
      });

      it('two triggers in the same tick share one run', async () => {
        const h = setup();
        const a = observe(h.loop.trigger(), h.clock);
        const b = observe(h.loop.trigger(), h.clock);
        await h.clock.advance(100);
        expect(h.starts).toEqual([0]);
        expect([a.state, b.state]).toEqual(['resolved', 'resolved']);
        await h.finish();
      });

      it('a trigger during the one-shot run makes one more run right after it, then the loop rests', async () => {
        const h = setup({ plan: () => ({ ms: 20 }) });
        const first = observe(h.loop.trigger(), h.clock);
        await h.clock.advance(5);
        const second = observe(h.loop.trigger(), h.clock);
        const third = observe(h.loop.trigger(), h.clock);
        await h.clock.advance(1000);
        expect(h.starts).toEqual([0, 20]);
        expect([first, second, third]).toEqual([
          { state: 'resolved', at: 20 },
          { state: 'resolved', at: 40 },
          { state: 'resolved', at: 40 },
        ]);
        expect(h.log.some((line) => line.startsWith('stopped'))).toBe(false);
        await h.finish();
      });

      it('a trigger made once the one-shot run has resolved its trigger runs again', async () => {
        // `await loop.trigger(); await loop.trigger();`: the second call comes in the microtask
        // after the first run settled, before the one-shot session has been cleared.
        const h = setup();
        const times: number[] = [];
        const twice = (async () => {
          await h.loop.trigger();
          times.push(h.clock.now());
          await h.loop.trigger();
          times.push(h.clock.now());
        })();
        await h.clock.advance(10);
        const done = observe(twice, h.clock);
        await h.clock.flush();
        expect(done.state).toBe('resolved');
        expect(h.starts).toEqual([0, 0]);
        await h.finish();
      });

      it('a trigger during stop() settling, stopped again before it ran, makes no run', async () => {
        // stop(), trigger(), stop(): the second stop comes after the trigger, so the trigger
        // must resolve without a run, as when a loop is stopped before a triggered run starts.
        const h = setup({ plan: () => ({ ms: 10 }) });
        h.loop.start();
        await h.clock.advance(5);
        void h.loop.stop();
        const triggered = observe(h.loop.trigger(), h.clock);
        const stopped = observe(h.loop.stop(), h.clock);
        await h.clock.advance(100);
        expect(h.starts).toEqual([0]);
        expect(triggered.state).toBe('resolved');
        expect(stopped).toEqual({ state: 'resolved', at: 10 });
        await h.finish();
      });
    });

    describe('resolves without a run when the loop stops before the run starts', () => {
      it('trigger(); stop() in one tick while waiting', async () => {
        const h = setup();
        h.loop.start();
        await h.clock.advance(50);
        const triggered = observe(h.loop.trigger(), h.clock);
        void h.loop.stop();
        await h.clock.advance(100);
        expect(triggered).toEqual({ state: 'resolved', at: 50 });
        expect(h.starts).toEqual([0]);
        await h.finish();
      });

      it('trigger(); stop() in one tick on a stopped loop', async () => {
        const h = setup();
        const triggered = observe(h.loop.trigger(), h.clock);
        const stopped = observe(h.loop.stop(), h.clock);
        await h.clock.advance(100);
        expect(triggered).toEqual({ state: 'resolved', at: 0 });
        expect(stopped).toEqual({ state: 'resolved', at: 0 });
        expect(h.starts).toEqual([]);
        expect(h.log).toEqual([]);
        await h.finish();
      });

      it('a trigger during a run, then stop() before the run settled', async () => {
        const h = setup({ plan: () => ({ ms: 30 }) });
        h.loop.start();
        await h.clock.advance(10);
        const triggered = observe(h.loop.trigger(), h.clock);
        await h.clock.advance(10);
        void h.loop.stop();
        await h.clock.advance(100);
        expect(triggered).toEqual({ state: 'resolved', at: 30 });
        expect(h.starts).toEqual([0]);
        await h.finish();
      });
    });

    describe('while a stop is settling', () => {
      it('waits for the stop to settle, then runs once', async () => {
        const h = setup({ plan: () => ({ ms: 30 }) });
        h.loop.start();
        await h.clock.advance(10);
        const order: string[] = [];
        void h.loop.stop().then(() => order.push(`stop resolved @${h.clock.now()}`));
        const triggered = observe(h.loop.trigger(), h.clock);
        expect(h.loop.state).toBe('stopped');
        await h.clock.advance(19);
        expect(h.starts).toEqual([0]);
        await h.clock.advance(1);
        order.push(`starts ${h.starts.join(',')}`);
        await h.clock.advance(500);
        expect(order).toEqual(['stop resolved @30', 'starts 0,30']);
        expect(triggered).toEqual({ state: 'resolved', at: 60 });
        expect(h.starts).toEqual([0, 30]);
        expect(h.loop.state).toBe('stopped');
        expect(h.maxInFlight).toBe(1);
        await h.finish();
      });

      it('then start(): the trigger is served by the restarted loop', async () => {
        // The trigger joins the restarted loop: one run after the stop settled, not two.
        const h = setup({ plan: () => ({ ms: 30 }) });
        h.loop.start();
        await h.clock.advance(10);
        void h.loop.stop();
        const triggered = observe(h.loop.trigger(), h.clock);
        h.loop.start();
        await h.clock.advance(200);
        expect(h.maxInFlight).toBe(1);
        expect(triggered).toEqual({ state: 'resolved', at: 60 });
        expect(h.starts).toEqual([0, 30, 160]);
        await h.finish();
      });
    });
  });
});
