/*
 * ManagedLoop with a gate (leader election): the gate is asked before every run, the loop
 * stands by while it refuses, and runs carry its fencing token.
 */
import { ManagedLoop } from '../../../lib/polling/loop/managed-loop.js';
import { FakeClock } from '../../../lib/testing/index.js';
import { QUIET } from '../../support/helpers.js';
import { defaults } from './support.js';

describe('ManagedLoop with a gate (leader election)', () => {
  it('checks the gate before every run: a term that ran out stops runs even if nobody said so, and runs carry its token', async () => {
    const clock = new FakeClock(0);
    let until = 450;
    const gate = { admit: (now: number) => (now < until ? 7 : undefined) };
    const seen: [number, number | undefined][] = [];
    const loop = new ManagedLoop(
      'gated',
      (ctx) => void seen.push([clock.now(), ctx.fencingToken]),
      defaults,
      { clock, random: () => 0, observer: QUIET },
      gate,
    );
    loop.start();
    await clock.advance(1000);
    expect(seen).toEqual([
      [0, 7],
      [100, 7],
      [200, 7],
      [300, 7],
      [400, 7],
    ]);
    expect(loop.state).toBe('standby');
    expect(clock.pendingTimers).toBe(0); // standing by holds no timer
    until = Infinity;
    loop.gateChanged();
    await clock.advance(150);
    expect(seen.slice(5)).toEqual([
      [1000, 7],
      [1100, 7],
    ]);
    expect(loop.state).toBe('running');
    await loop.stop();
  });
});
