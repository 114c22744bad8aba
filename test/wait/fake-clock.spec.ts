/*
 * FakeClock's own timers: order and delays as Node's. The mutant each case kills is in the comment
 * above it.
 */
import { FakeClock } from '../../lib/testing/index.js';

describe('FakeClock', () => {
  // fake-clock.ts earliest(): `<`, so the first timer set wins among equal due times.
  it('fires timers of equal due time in the order they were set', async () => {
    const clock = new FakeClock();
    const order: string[] = [];
    for (const name of ['a', 'b', 'c']) clock.setTimeout(() => void order.push(name), 10);
    await clock.advance(10);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  // setTimeout(): a negative or NaN delay counts as 0.
  it('counts a negative or NaN delay as 0, keeping FIFO order among timers due now', async () => {
    const clock = new FakeClock(100);
    const order: string[] = [];
    clock.setTimeout(() => void order.push('zero'), 0);
    clock.setTimeout(() => void order.push('negative'), -5);
    clock.setTimeout(() => void order.push('nan'), NaN);
    expect(clock.nextTimerAt()).toBe(100);
    await clock.advance(0);
    expect(order).toEqual(['zero', 'negative', 'nan']);
    expect(clock.now()).toBe(100);
  });
});
