/*
 * ManagedLoop ctx.signal and the run context: the signal made on first read (one per start,
 * aborted on stop), and a context that copies and answers like a plain object.
 */
import type { PollingContext } from '../../../lib/index.js';
import { ManagedLoop } from '../../../lib/polling/loop/managed-loop.js';
import { FakeClock } from '../../../lib/testing/index.js';
import { deferred, QUIET } from '../../support/helpers.js';
import { defaults } from './support.js';

/** A managed loop with the default settings, no jitter and an observer that ignores everything. */
const quietLoop = (name: string, fn: (ctx: PollingContext) => unknown, clock: FakeClock) =>
  new ManagedLoop(name, fn, defaults, { clock, random: () => 0, observer: QUIET });

describe('ManagedLoop ctx.signal, made on first read', () => {
  it('is aborted when first read after the stop, and is one signal for the runs of a start', async () => {
    const clock = new FakeClock(0);
    const gate = deferred();
    const seen: AbortSignal[] = [];
    let late: AbortSignal | undefined;
    const loop = quietLoop(
      'lazy',
      async (ctx) => {
        if (ctx.iteration < 3) return void seen.push(ctx.signal);
        await gate.promise;
        late = ctx.signal; // first read of this run's signal, after stop() below
      },
      clock,
    );
    loop.start();
    await clock.advance(200);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    const stopped = loop.stop('bye');
    gate.resolve();
    await stopped;
    expect(seen[0].aborted).toBe(true);
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toBe('bye');
  });

  it('a signal first read after the stop by a run that never read it before is aborted too', async () => {
    const clock = new FakeClock(0);
    const gate = deferred();
    let late: AbortSignal | undefined;
    const loop = quietLoop(
      'lazy-late',
      async (ctx) => {
        await gate.promise;
        late = ctx.signal;
      },
      clock,
    );
    loop.start();
    await clock.flush();
    const stopped = loop.stop('bye');
    gate.resolve();
    await stopped;
    expect(late?.aborted).toBe(true);
    expect(late?.reason).toBe('bye');
  });

  /*
   * The context's fields are own and enumerable, so `{ ...ctx }`, Object.assign() and
   * Object.keys() see them all: a prototype getter would be dropped by a spread. Checked on a
   * run before the AbortController exists (its `signal` makes it on first read) and on runs after.
   */
  it("{ ...ctx } keeps signal, iteration, name and fencingToken, and the copy's signal aborts on stop", async () => {
    const clock = new FakeClock(0);
    const copies: PollingContext[] = [];
    const keys: string[][] = [];
    const loop = quietLoop(
      'spread',
      (ctx) => {
        keys.push(Object.keys(ctx));
        copies.push({ ...ctx }, Object.assign({}, ctx));
      },
      clock,
    );
    loop.start();
    await clock.advance(100); // two runs: the first makes the signal (the spread reads it)
    expect(copies).toHaveLength(4);
    const fields = ['signal', 'iteration', 'name', 'fencingToken'];
    expect(keys).toEqual([fields, fields]);
    for (const copy of copies) {
      expect(Object.keys(copy)).toEqual(fields);
      expect(copy.signal).toBeInstanceOf(AbortSignal);
      expect(copy.signal.aborted).toBe(false);
      expect(copy.name).toBe('spread');
      expect(copy.fencingToken).toBeUndefined();
    }
    expect(copies.map((c) => c.iteration)).toEqual([1, 1, 2, 2]);
    await loop.stop('bye');
    for (const copy of copies) expect(copy.signal.reason).toBe('bye');
  });

  it('a body that never reads ctx.signal makes no AbortController, though its contexts list signal', async () => {
    const clock = new FakeClock(0);
    const RealAbortController = globalThis.AbortController;
    let constructed = 0;
    globalThis.AbortController = new Proxy(RealAbortController, {
      construct(target, args) {
        constructed++;
        return Reflect.construct(target, args) as object;
      },
    });
    try {
      const contexts: PollingContext[] = [];
      const loop = quietLoop('idle', (ctx) => void contexts.push(ctx), clock);
      loop.start();
      await clock.advance(250);
      expect(contexts.map((c) => c.iteration)).toEqual([1, 2, 3]);
      expect(contexts.map((c) => Object.keys(c).length)).toEqual([4, 4, 4]);
      expect(constructed).toBe(0);
      await loop.stop();
      expect(constructed).toBe(0);
    } finally {
      globalThis.AbortController = RealAbortController;
    }
  });

  it('a context whose signal does not exist yet answers like a plain object: hasOwn, descriptors, freeze', async () => {
    const clock = new FakeClock(0);
    const contexts: PollingContext[] = [];
    const loop = quietLoop('exotic', (ctx) => void contexts.push(ctx), clock);
    loop.start();
    await clock.advance(100);
    const [first, second] = contexts;
    // Neither has made the signal yet: these only ask about it.
    expect(Object.hasOwn(first, 'signal')).toBe(true);
    expect('signal' in first).toBe(true);
    expect(Object.getOwnPropertyDescriptor(first, 'signal')).toMatchObject({ enumerable: true });
    expect(JSON.stringify(Object.keys(second))).toBe(
      '["signal","iteration","name","fencingToken"]',
    );
    const signal = Object.getOwnPropertyDescriptor(first, 'signal')!.get!.call(
      first,
    ) as AbortSignal;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(second.signal).toBe(signal); // one signal for the runs of a start
    expect(Object.isFrozen(Object.freeze(second))).toBe(true);
    expect({ ...second }).toEqual({
      signal,
      iteration: 2,
      name: 'exotic',
      fencingToken: undefined,
    });
    await loop.stop();
    expect(first.signal.aborted).toBe(true);
  });
});
