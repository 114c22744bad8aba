/*
 * ManagedLoop backoff: the waits after failures (growth, cap, jitter, resetAfter) and how a success
 * or a trigger ends or interrupts them.
 */
import { setup } from './support.js';

describe('ManagedLoop', () => {
  describe('backoff', () => {
    const backoff = { initial: 1, max: 8, factor: 2, jitter: 0, resetAfter: 1000 };

    it('waits 1, 2, 4, 8, 8, 8 after failures; a success resets it to the period, and the next failure starts at 1', async () => {
      const h = setup({
        settings: { backoff },
        plan: (n) => ({ fail: n <= 6 || n === 8 }),
      });
      h.loop.start();
      await h.clock.advance(250);
      expect(h.starts).toEqual([0, 1, 3, 7, 15, 23, 31, 131, 132, 232]);
      expect(h.log).toContain('succeeded #7 (6) @31');
      expect(h.log).toContain('succeeded #9 (1) @132');
      expect([h.loop.failures, h.loop.consecutiveFailures]).toEqual([7, 0]);
      await h.finish();
    });

    it('counts each backoff wait from the failure\u2019s settle, sliding or not', async () => {
      const slow = { initial: 50, max: 1000, factor: 2, jitter: 0, resetAfter: 1000 };
      const h = setup({
        settings: { sliding: false, backoff: slow },
        plan: (n) => ({ ms: 20, fail: n <= 2 }),
      });
      h.loop.start();
      await h.clock.advance(300);
      // 0..20 fails: +50; 70..90 fails: +100; 190..210 succeeds: non-sliding from its start.
      expect(h.starts).toEqual([0, 70, 190, 290]);
      await h.finish();
    });

    it('jitters each backoff wait with the loop\u2019s random numbers', async () => {
      const h = setup({
        settings: { backoff: { initial: 10, max: 100, factor: 2, jitter: 0.5, resetAfter: 1000 } },
        random: () => 0.5,
        plan: () => ({ fail: true }),
      });
      h.loop.start();
      await h.clock.advance(40);
      // 10 * (1 + 0.5 * 0.5) = 12.5, then 20 * 1.25 = 25.
      expect(h.starts).toEqual([0, 12.5, 37.5]);
      await h.finish();
    });

    it.each([
      [20, [0, 40, 80, 120]],
      [1000, [0, 40, 90, 160]],
    ])(
      'resetAfter %d: failures further apart than it start over from initial',
      async (resetAfter, expected) => {
        const h = setup({
          settings: { backoff: { initial: 10, max: 100, factor: 2, jitter: 0, resetAfter } },
          plan: () => ({ ms: 30, fail: true }),
        });
        h.loop.start();
        await h.clock.advance(expected[3]);
        expect(h.starts).toEqual(expected);
        await h.finish();
      },
    );

    it('without a backoff, a failure is followed by the period as usual', async () => {
      const h = setup({ plan: () => ({ ms: 10, fail: true }) });
      h.loop.start();
      await h.clock.advance(250);
      expect(h.starts).toEqual([0, 110, 220]);
      await h.finish();
    });

    it('a trigger during a backoff wait runs at once; a failure then goes on with the sequence', async () => {
      const h = setup({
        settings: { backoff: { initial: 10, max: 1000, factor: 2, jitter: 0, resetAfter: 1000 } },
        plan: () => ({ fail: true }),
      });
      h.loop.start();
      await h.clock.advance(15);
      expect(h.starts).toEqual([0, 10]);
      expect(h.loop.nextRunAt).toBe(30);
      void h.loop.trigger();
      await h.clock.advance(40);
      expect(h.starts).toEqual([0, 10, 15, 55]);
      await h.finish();
    });
  });
});
