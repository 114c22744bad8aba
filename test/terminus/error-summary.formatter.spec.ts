import { summarize } from '../../lib/terminus/error-summary.formatter.js';

/* The text of a loop's last error in health details (LoopHealth.lastError). */

describe('summarize', () => {
  it("gives an Error's name and message", () => {
    expect(summarize(new Error('boom'))).toBe('Error: boom');
    expect(summarize(new RangeError('too far'))).toBe('RangeError: too far');
    class QuotaError extends Error {
      override name = 'QuotaError';
    }
    expect(summarize(new QuotaError('over quota'))).toBe('QuotaError: over quota');
    expect(summarize(new Error(''))).toBe('Error');
    expect(summarize({ message: 'from another realm' })).toBe('from another realm');
  });

  it('gives a short form of anything else', () => {
    expect(summarize('plain text')).toBe('plain text');
    expect(summarize(42)).toBe('42');
    expect(summarize(undefined)).toBe('undefined');
    expect(summarize(null)).toBe('null');
    expect(summarize(Symbol('gone'))).toBe('Symbol(gone)');
    expect(summarize(10n)).toBe('10');
    expect(summarize(() => 1)).toBe('a function (anonymous)');
    expect(summarize({ status: 503 })).toBe('{"status":503}');
    expect(summarize(['a', 1])).toBe('["a",1]');
    expect(summarize(new Map())).toBe('an object (Map)');
  });

  it('never throws: a cycle, a BigInt inside, a throwing getter', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(summarize(cycle)).toBe('an object (Object)');
    expect(summarize({ n: 1n })).toBe('an object (Object)');
    const hostile = {
      get message(): string {
        throw new Error('no');
      },
    };
    expect(summarize(hostile)).toBe('an object (Object)');
  });

  it('is at most 300 characters, cut with an ellipsis, never splitting a surrogate pair', () => {
    expect(summarize(new Error('y'.repeat(293)))).toBe(`Error: ${'y'.repeat(293)}`); // 300
    const long = summarize(new Error('y'.repeat(294)));
    expect(long).toHaveLength(300);
    expect(long.endsWith('y…')).toBe(true);
    const emoji = summarize(`${'z'.repeat(298)}😀😀`); // the cut would fall inside the first
    expect(emoji).toBe(`${'z'.repeat(298)}…`);
    expect(summarize(`${'z'.repeat(297)}😀😀`)).toBe(`${'z'.repeat(297)}😀…`);
    const big = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`key${i}`, i]));
    const text = summarize(big);
    expect(text.length).toBeLessThanOrEqual(300);
    expect(text.endsWith('…')).toBe(true);
  });
});
