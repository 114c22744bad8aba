/*
 * The one abort listener per signal that every loop on it shares: added with the first loop,
 * removed with the last, whatever the order they end in. The mutant each case kills is in the
 * comment above it.
 */
import { getEventListeners } from 'node:events';
import { jest } from '@jest/globals';
import { poll, until } from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { track } from '../support/helpers.js';

describe('abort listeners', () => {
  // finish(): unwatchSignal; signal-group.ts unwatchSignal(): the back link of the next member,
  // and removeEventListener once the group is empty.
  it('the last loop to end (by error, in any order) removes the abort listener', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const failing = new Set<string>();
    const loop = (name: string) =>
      track(
        until(
          () => {
            if (failing.has(name)) throw new Error(name);
          },
          100,
          ac.signal,
          { clock },
        ),
      );
    const a = loop('a');
    const b = loop('b');
    const c = loop('c');
    await clock.flush();
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    failing.add('b');
    await clock.advance(100);
    failing.add('a');
    await clock.advance(100);
    failing.add('c');
    await clock.advance(100);
    expect([a.rejected, b.rejected, c.rejected]).toEqual([true, true, true]);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  // unwatchSignal(): `groups.delete(signal)` with the listener. A stale group would take the next
  // loop in without a listener, and that loop would not hear the abort.
  it('a loop started on a signal whose earlier loops all ended still stops at once on abort', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const boom = new Error('boom');
    const first = until(
      () => {
        throw boom;
      },
      100,
      ac.signal,
      { clock },
    );
    await expect(first).rejects.toBe(boom);
    const fn = jest.fn();
    const second = track(until(fn, '1h', ac.signal, { clock }));
    await clock.flush();
    expect(fn).toHaveBeenCalledTimes(1);
    ac.abort();
    await clock.flush();
    expect(second).toMatchObject({ settled: true, rejected: false });
    expect(clock.pendingTimers).toBe(0);
  });

  // poll.ts: unwatchSignal(external, relay) once the poll settles.
  it('poll() removes its abort listener from the caller signal once it resolves', async () => {
    const clock = new FakeClock();
    const external = new AbortController();
    let calls = 0;
    const done = poll(() => ++calls === 2, { interval: 100, signal: external.signal, clock });
    await clock.flush();
    expect(getEventListeners(external.signal, 'abort')).toHaveLength(1);
    await clock.advance(200);
    await done;
    expect(getEventListeners(external.signal, 'abort')).toHaveLength(0);
  });
});
