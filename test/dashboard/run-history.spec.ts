import type { LoopEvent, LoopStatus } from '../../lib/index.js';
import { RunHistory } from '../../lib/dashboard/run-history.js';

/* The timelines' runs: from events$ for this replica's loops, from the cluster's view for others. */

const event = (type: LoopEvent['type'], at: number, name = 'gc'): LoopEvent => ({
  type,
  name,
  iteration: 1,
  consecutiveFailures: 0,
  at: new Date(at),
});

/** A loop another replica runs, as list({ cluster: true }) shows it. */
const seen = (
  start: number | undefined,
  end?: number,
  outcome?: 'succeeded' | 'failed',
  period = 1000,
): Omit<LoopStatus, 'lastError'> => ({
  name: 'gc',
  state: 'running',
  placement: 'spread',
  owner: 'r1',
  period,
  jitter: 0,
  sliding: true,
  backoff: false,
  iterations: 1,
  failures: 0,
  consecutiveFailures: 0,
  inFlight: end === undefined,
  lastStartedAt: start === undefined ? undefined : new Date(start),
  lastEndedAt: end === undefined ? undefined : new Date(end),
  lastOutcome: outcome,
});

describe('RunHistory from events$', () => {
  it('opens a run at started and closes it with its outcome', () => {
    const h = new RunHistory();
    expect(h.event(event('started', 100))).toEqual({ name: 'gc', start: 100, outcome: 'running' });
    expect(h.event(event('failed', 180))).toEqual({
      name: 'gc',
      start: 100,
      end: 180,
      outcome: 'failed',
    });
    h.event(event('started', 1180));
    h.event(event('succeeded', 1200));
    expect(h.all()).toEqual([
      { name: 'gc', start: 100, end: 180, outcome: 'failed' },
      { name: 'gc', start: 1180, end: 1200, outcome: 'succeeded' },
    ]);
  });

  it("ignores 'stopped', and an end without its start (the run began before the feed)", () => {
    const h = new RunHistory();
    expect(h.event(event('succeeded', 50))).toBeUndefined();
    expect(h.event(event('stopped', 60))).toBeUndefined();
    h.event(event('started', 100));
    h.event(event('succeeded', 120));
    expect(h.event(event('succeeded', 130))).toBeUndefined();
    expect(h.all()).toHaveLength(1);
  });

  it('keeps the last 30 runs of each loop', () => {
    const h = new RunHistory();
    for (let i = 0; i < 35; i++) {
      h.event(event('started', i * 10));
      h.event(event('started', i * 10, 'other'));
    }
    const gc = h.all().filter((r) => r.name === 'gc');
    expect(gc).toHaveLength(30);
    expect(gc[0].start).toBe(50);
    expect(h.all()).toHaveLength(60);
  });

  it('forgets removed loops', () => {
    const h = new RunHistory();
    h.event(event('started', 1, 'a'));
    h.event(event('started', 1, 'b'));
    h.keepOnly(new Set(['b']));
    expect(h.all().map((r) => r.name)).toEqual(['b']);
  });
});

describe('RunHistory from the cluster view', () => {
  it('adds a run once, however many reads show it, and closes it when its end is seen', () => {
    const h = new RunHistory();
    expect(h.observed(seen(undefined))).toBeUndefined();
    expect(h.observed(seen(1000))).toEqual({ name: 'gc', start: 1000, outcome: 'running' });
    // The store answers in durations: the same start, read again, may be a few ms off.
    expect(h.observed(seen(1003))).toBeUndefined();
    expect(h.observed(seen(998, 1400, 'failed'))).toEqual({
      name: 'gc',
      start: 1000,
      end: 1400,
      outcome: 'failed',
    });
    expect(h.observed(seen(1001, 1402, 'failed'))).toBeUndefined();
    expect(h.observed(seen(2400, 2500, 'succeeded'))).toEqual({
      name: 'gc',
      start: 2400,
      end: 2500,
      outcome: 'succeeded',
    });
    expect(h.all()).toHaveLength(2);
  });

  it('does not add a run older than the last one seen (a stale read)', () => {
    const h = new RunHistory();
    h.observed(seen(5000, 5100, 'succeeded'));
    expect(h.observed(seen(3000, 3100, 'succeeded'))).toBeUndefined();
    expect(h.all()).toHaveLength(1);
  });

  it('tells runs of a short period apart: the same run is within half a period', () => {
    const h = new RunHistory();
    h.observed(seen(1000, 1010, 'succeeded', 100));
    expect(h.observed(seen(1060, 1070, 'succeeded', 100))).toMatchObject({ start: 1060 });
    expect(h.observed(seen(1040, 1070, 'succeeded', 100))).toBeUndefined();
  });

  it('an end before the start read is the previous run: the run is still running', () => {
    const h = new RunHistory();
    expect(h.observed(seen(2000, 1500, 'succeeded'))).toEqual({
      name: 'gc',
      start: 2000,
      outcome: 'running',
    });
  });
});
