import fc from 'fast-check';
import {
  Backoff,
  backoffUntil,
  exponentialBackoffManager,
  jitter,
  jitterUntil,
  nonSlidingUntil,
  until,
  type BackoffManager,
  type LoopContext,
  type LoopOptions,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

/*
 * Property tests of the engine, all on FakeClock: every schedule here is deterministic, so a
 * failure prints a seed and a counterexample that replays exactly.
 */

const NUM_RUNS = 150;

/**
 * fast-check parameters: `numRuns` cases, and a time limit so that shrinking a failure (which
 * runs the property thousands of times) reports in seconds rather than hitting Jest's timeout.
 */
const params = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns,
  interruptAfterTimeLimit: 10_000,
});

/** A cheap assertion for hot property bodies: a failing Jest matcher is slow, and shrinking fails often. */
function holds(condition: boolean, message: () => string): void {
  if (!condition) throw new Error(message());
}

/** Random numbers in [0, 1), as `Math.random` returns them. */
const unit = (): fc.Arbitrary<number> =>
  fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

// ---------------------------------------------------------------------------------------------
// jitter()
// ---------------------------------------------------------------------------------------------

describe('jitter() bounds', () => {
  it('stays within [d, d * (1 + (f > 0 ? f : 1))] for any d >= 0, any factor and random in [0, 1)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 10 ** 9 }),
          fc.double({ min: 0, max: 1e9, noNaN: true }),
        ),
        fc.oneof(fc.constantFrom(0, -0, -1, 1, 0.5), fc.double({ min: -5, max: 5, noNaN: true })),
        unit(),
        (d, f, r) => {
          const value = jitter(d, f, () => r);
          const high = d * (1 + (f > 0 ? f : 1));
          // Allow the last bit of rounding: d + r * f * d and d * (1 + f) round differently.
          holds(value >= d && value <= high + high * 1e-12, () => `jitter gave ${value}`);
        },
      ),
      params(1000),
    );
  });

  it('treats f <= 0 as 1.0: r = 0 adds nothing, r = 0.5 adds half of d', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 ** 6 }),
        fc.double({ min: -5, max: 0, noNaN: true }),
        (d, f) => {
          expect(jitter(d, f, () => 0)).toBe(d);
          expect(jitter(d, f, () => 0.5)).toBeCloseTo(1.5 * d, 6);
        },
      ),
      params(200),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Backoff and exponentialBackoffManager
// ---------------------------------------------------------------------------------------------

describe('Backoff.step() without jitter', () => {
  it('never exceeds cap when cap > 0 and duration <= cap', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.integer({ min: -3, max: 40 }),
        (a, b, factor, steps) => {
          const duration = Math.min(a, b);
          const cap = Math.max(a, b);
          fc.pre(cap > 0);
          const backoff = new Backoff({ duration, factor, jitter: 0, steps, cap });
          for (let i = 0; i < 50; i++) {
            const wait = backoff.step();
            holds(wait <= cap, () => `step ${i + 1} gave ${wait} > cap ${cap}`);
          }
        },
      ),
      params(500),
    );
  });

  it('never shrinks while factor >= 1, with or without a cap', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.integer({ min: -3, max: 40 }),
        fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e9, noNaN: true })),
        (duration, factor, steps, cap) => {
          // A cap below the duration pins it down to the cap (as in Go): that is not growth.
          fc.pre(cap === 0 || cap >= duration);
          const backoff = new Backoff({ duration, factor, jitter: 0, steps, cap });
          let previous = backoff.step();
          holds(previous === duration, () => `the first step gave ${previous}`);
          for (let i = 0; i < 50; i++) {
            const next = backoff.step();
            holds(next >= previous, () => `step ${i + 2} gave ${next} < ${previous}`);
            previous = next;
          }
        },
      ),
      params(500),
    );
  });
});

describe('exponentialBackoffManager() without jitter', () => {
  /** A gap relative to resetAfter: below it, exactly it, or above it. */
  const gapArb = fc.tuple(fc.constantFrom('below', 'equal', 'above'), fc.nat(100));

  it('never exceeds max, never shrinks between calls unless more than resetAfter passed, then equals initial', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.array(gapArb, { minLength: 1, maxLength: 30 }),
        async (initial, extra, resetAfter, factor, gaps) => {
          const max = initial + extra;
          const clock = new FakeClock(1000);
          const manager = exponentialBackoffManager({ initial, max, resetAfter, factor, clock });
          let previous: number | undefined;
          for (const [kind, n] of gaps) {
            const gap =
              kind === 'equal'
                ? resetAfter
                : kind === 'below'
                  ? Math.max(0, resetAfter - 1 - n)
                  : resetAfter + 1 + n;
            await clock.advance(gap);
            const value = manager.backoff();
            expect(value).toBeLessThanOrEqual(max);
            if (previous === undefined || gap > resetAfter) {
              expect(value).toBe(initial);
            } else {
              expect(value).toBeGreaterThanOrEqual(previous);
            }
            previous = value;
          }
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      params(200),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Loop invariants
// ---------------------------------------------------------------------------------------------

type Kind =
  'until' | 'nonSlidingUntil' | 'jitterUntil' | 'backoffUntil' | 'exponentialBackoffUntil';
const KINDS: readonly Kind[] = [
  'until',
  'nonSlidingUntil',
  'jitterUntil',
  'backoffUntil',
  'exponentialBackoffUntil',
];

interface LoopSpec {
  kind: Kind;
  /** For jitterUntil and backoffUntil; until is sliding and nonSlidingUntil is not. */
  sliding: boolean;
  period: number;
  jitterFactor: number;
  randoms: number[];
  /** backoffUntil: the waits a custom manager hands out, in turn. */
  waits: number[];
  /** exponentialBackoffUntil: a real exponentialBackoffManager on the same clock. */
  expo: { initial: number; extra: number; resetAfter: number; factor: number };
  /** Per run, cyclic: how long an async run sleeps on the clock. */
  runTimes: number[];
  /** Per run, cyclic: async (returns a promise that awaits a clock sleep) or sync. */
  asyncRuns: boolean[];
  /** Per run, cyclic: whether the run throws (sync) or rejects (async). */
  failures: boolean[];
  withOnError: boolean;
}

interface RunRecord {
  start: number;
  end: number | undefined;
  error: Error | undefined;
}

function sleep(clock: FakeClock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

const isSliding = (spec: LoopSpec): boolean =>
  spec.kind === 'until' ? true : spec.kind === 'nonSlidingUntil' ? false : spec.sliding;

/** Waits with fractional milliseconds are compared with a tolerance; whole ones exactly. */
const epsilonOf = (spec: LoopSpec): number =>
  spec.kind === 'jitterUntil' || spec.kind === 'exponentialBackoffUntil' ? 1e-6 : 0;

/** One loop under test and everything observed about it. */
class Harness {
  readonly runs: RunRecord[] = [];
  readonly draws: number[] = [];
  readonly waits: number[] = [];
  readonly handled: { error: unknown; at: number }[] = [];
  readonly violations: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  settled = false;
  settledAt = Number.NaN;
  rejected = false;
  reason: unknown = undefined;
  /** Snapshot taken when the stop signal aborts. */
  inFlightAtAbort: RunRecord | undefined = undefined;

  constructor(
    readonly spec: LoopSpec,
    readonly clock: FakeClock,
    readonly stop: AbortSignal,
    private readonly onRunStart: () => void,
  ) {
    const options: LoopOptions = {
      clock,
      random: () => {
        const r = spec.randoms[this.draws.length % spec.randoms.length];
        this.draws.push(r);
        return r;
      },
      onError: spec.withOnError
        ? (error) => void this.handled.push({ error, at: clock.now() })
        : undefined,
    };
    const fn = (ctx: LoopContext): unknown => this.run(ctx);
    let promise: Promise<void>;
    switch (spec.kind) {
      case 'until':
        promise = until(fn, spec.period, stop, options);
        break;
      case 'nonSlidingUntil':
        promise = nonSlidingUntil(fn, spec.period, stop, options);
        break;
      case 'jitterUntil':
        promise = jitterUntil(fn, spec.period, spec.jitterFactor, spec.sliding, stop, options);
        break;
      case 'backoffUntil':
        promise = backoffUntil(
          fn,
          this.recording(this.customManager()),
          spec.sliding,
          stop,
          options,
        );
        break;
      case 'exponentialBackoffUntil': {
        const { initial, extra, resetAfter, factor } = spec.expo;
        const manager = exponentialBackoffManager({
          initial,
          max: initial + extra,
          resetAfter,
          factor,
          clock,
        });
        promise = backoffUntil(fn, this.recording(manager), spec.sliding, stop, options);
        break;
      }
    }
    promise.then(
      () => this.settle(false, undefined),
      (reason) => this.settle(true, reason),
    );
  }

  /** The wait that followed run `k` (0-based), as the loop must have drawn it. */
  wait(k: number): number {
    const { spec } = this;
    switch (spec.kind) {
      case 'until':
      case 'nonSlidingUntil':
        return spec.period;
      case 'jitterUntil':
        return spec.jitterFactor > 0
          ? spec.period + this.draws[k] * spec.jitterFactor * spec.period
          : spec.period;
      default:
        return this.waits[k];
    }
  }

  abortSnapshot(): void {
    const last = this.runs[this.runs.length - 1];
    this.inFlightAtAbort = last !== undefined && last.end === undefined ? last : undefined;
  }

  private customManager(): BackoffManager {
    let i = 0;
    return { backoff: () => this.spec.waits[i++ % this.spec.waits.length] };
  }

  private recording(manager: BackoffManager): BackoffManager {
    return {
      backoff: () => {
        const wait = manager.backoff();
        this.waits.push(wait);
        return wait;
      },
    };
  }

  private settle(rejected: boolean, reason: unknown): void {
    if (this.settled) this.violations.push('settled twice');
    this.settled = true;
    this.settledAt = this.clock.now();
    this.rejected = rejected;
    this.reason = reason;
  }

  private run(ctx: LoopContext): unknown {
    const { spec, clock } = this;
    const index = this.runs.length;
    if (this.stop.aborted) this.violations.push(`run ${index + 1} started after the abort`);
    if (this.settled) this.violations.push(`run ${index + 1} started after settling`);
    if (ctx.signal !== this.stop) this.violations.push('ctx.signal is not the stop signal');
    if (ctx.iteration !== index + 1)
      this.violations.push(`iteration ${ctx.iteration} != ${index + 1}`);
    const record: RunRecord = {
      start: clock.now(),
      end: undefined,
      error: spec.failures[index % spec.failures.length]
        ? new Error(`run ${index + 1} failed`)
        : undefined,
    };
    this.runs.push(record);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.onRunStart();
    const end = (): void => {
      this.inFlight--;
      record.end = clock.now();
      if (record.error !== undefined) throw record.error;
    };
    if (!spec.asyncRuns[index % spec.asyncRuns.length]) return end();
    return sleep(clock, spec.runTimes[index % spec.runTimes.length]).then(end);
  }
}

const MAX_RUN_TIME = 60;

const specArb = (kinds: readonly Kind[]): fc.Arbitrary<LoopSpec> =>
  fc.record({
    kind: fc.constantFrom(...kinds),
    sliding: fc.boolean(),
    period: fc.integer({ min: 1, max: 40 }),
    jitterFactor: fc.oneof(
      fc.constantFrom(0, -0.5, 1),
      fc.double({ min: -1, max: 1.5, noNaN: true }),
    ),
    randoms: fc.array(unit(), { minLength: 1, maxLength: 6 }),
    // Some waits may be 0, but not all of them, or fake time would never move on.
    waits: fc
      .array(fc.nat(40), { minLength: 1, maxLength: 6 })
      .map((w) => (w.some((x) => x > 0) ? w : [...w, 1])),
    expo: fc.record({
      initial: fc.integer({ min: 1, max: 20 }),
      extra: fc.nat(40),
      resetAfter: fc.nat(50),
      factor: fc.double({ min: 1, max: 3, noNaN: true }),
    }),
    runTimes: fc.array(fc.nat(MAX_RUN_TIME), { minLength: 1, maxLength: 6 }),
    asyncRuns: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
    failures: fc.array(
      fc.nat(4).map((n) => n === 0),
      { minLength: 1, maxLength: 6 },
    ),
    withOnError: fc.boolean(),
  });

interface Scenario {
  specs: LoopSpec[];
  abortAt: number;
  /** Abort from inside the first run that starts at or after abortAt (else from outside). */
  abortInside: boolean;
}

/**
 * Starts every loop of the scenario on one FakeClock and one stop signal, aborts, lets the runs
 * in flight finish, and checks what the design promises of loops (DESIGN.md §3).
 */
async function checkScenario({ specs, abortAt, abortInside }: Scenario): Promise<void> {
  const clock = new FakeClock();
  const controller = new AbortController();
  const stop = controller.signal;
  let abortTime = Number.NaN;
  const harnesses: Harness[] = [];
  // Registered before any loop, so it sees the state at the moment of the abort.
  stop.addEventListener('abort', () => {
    abortTime = clock.now();
    for (const h of harnesses) h.abortSnapshot();
  });
  const onRunStart = (): void => {
    if (abortInside && !stop.aborted && clock.now() >= abortAt) controller.abort();
  };
  for (const spec of specs) harnesses.push(new Harness(spec, clock, stop, onRunStart));

  await clock.advance(abortAt);
  if (!stop.aborted) {
    // (d) while alive: only the timers of runs in flight, plus at most one per waiting loop.
    const inFlight = harnesses.reduce((sum, h) => sum + h.inFlight, 0);
    const waiting = harnesses.filter((h) => !h.settled && h.inFlight === 0).length;
    expect(clock.pendingTimers).toBeGreaterThanOrEqual(inFlight + (waiting > 0 ? 1 : 0));
    expect(clock.pendingTimers).toBeLessThanOrEqual(inFlight + waiting);
    controller.abort();
  }
  const runCounts = harnesses.map((h) => h.runs.length);
  await clock.flush();
  for (const h of harnesses) {
    // An abort during a wait settles at once.
    if (h.inFlightAtAbort === undefined) expect(h.settled).toBe(true);
  }
  if (harnesses.every((h) => h.inFlightAtAbort === undefined)) {
    expect(clock.pendingTimers).toBe(0);
  }
  // (c) the run in flight finishes within MAX_RUN_TIME; then every loop has settled.
  await clock.advance(MAX_RUN_TIME + 1);
  expect(clock.pendingTimers).toBe(0); // (d)

  for (const [i, h] of harnesses.entries()) {
    const { spec, runs } = h;
    expect(h.violations).toEqual([]);
    // (a) no two runs overlap.
    expect(h.maxInFlight).toBeLessThanOrEqual(1);
    expect(h.inFlight).toBe(0);
    // (b) no run starts after the abort.
    expect(runs.length).toBe(runCounts[i]);
    for (const run of runs) expect(run.start).toBeLessThanOrEqual(abortTime);
    // (c) settled, at the right time, the right way.
    expect(h.settled).toBe(true);
    const firstFailure = runs.findIndex((run) => run.error !== undefined);
    if (!spec.withOnError && firstFailure >= 0) {
      expect(h.rejected).toBe(true);
      expect(h.reason).toBe(runs[firstFailure].error);
      expect(runs.length).toBe(firstFailure + 1);
      expect(h.settledAt).toBe(runs[firstFailure].end);
    } else {
      expect(h.rejected).toBe(false);
      expect(h.settledAt).toBe(h.inFlightAtAbort?.end ?? abortTime);
      const failed = runs.filter((run) => run.error !== undefined);
      expect(h.handled.map((x) => x.error)).toEqual(failed.map((run) => run.error));
      for (const [k, x] of h.handled.entries()) expect(x.error).toBe(failed[k].error);
      expect(h.handled.map((x) => x.at)).toEqual(failed.map((run) => run.end));
    }
    checkCadence(h, abortTime, firstFailure >= 0 && !spec.withOnError);
  }
}

/** (e) the timing of the runs of one loop. */
function checkCadence(h: Harness, abortTime: number, endedByError: boolean): void {
  const { spec, runs } = h;
  const eps = epsilonOf(spec);
  const near = (actual: number, expected: number): void => {
    if (Math.abs(actual - expected) > eps) expect(actual).toBe(expected);
  };
  // The first run comes at once (no initial wait), unless another loop's run, due at the same
  // time, aborted the shared signal first.
  if (runs.length === 0) {
    expect(abortTime).toBe(0);
    return;
  }
  expect(runs[0].start).toBe(0);
  if (spec.kind === 'jitterUntil' && !(spec.jitterFactor > 0)) {
    // A loop's jitter factor <= 0 means no jitter at all: random() is never called.
    expect(h.draws).toEqual([]);
  }
  const sliding = isSliding(spec);
  let target = runs[0].start;
  let onCadence = true;
  for (let k = 0; k + 1 < runs.length; k++) {
    const a = runs[k];
    const b = runs[k + 1];
    const wait = h.wait(k);
    const end = a.end!;
    expect(Number.isFinite(wait)).toBe(true);
    if (sliding) {
      // Sliding: the wait starts when the run settles.
      near(b.start, end + wait);
    } else {
      // Non-sliding: the wait starts when the run starts; an overrun is followed at once.
      expect(b.start).toBeGreaterThanOrEqual(end - eps);
      expect(b.start).toBeLessThanOrEqual(Math.max(end, a.start + wait) + eps);
      if (end > a.start + wait + eps) near(b.start, end);
      // While no run has overrun its target, runs start exactly at start + sum of waits.
      target += wait;
      onCadence = onCadence && end <= target + eps;
      if (onCadence) near(b.start, target);
    }
  }
  // Liveness: the loop did not stop early. The last run was in flight at the abort, or ended the
  // loop with its error, or the next run was not due before the abort.
  const last = runs[runs.length - 1];
  if (endedByError || h.inFlightAtAbort === last) return;
  const wait = h.wait(runs.length - 1);
  const nextAtLatest = sliding ? last.end! + wait : Math.max(last.end!, last.start + wait);
  expect(nextAtLatest).toBeGreaterThanOrEqual(abortTime - eps);
}

describe('loop invariants on FakeClock', () => {
  it.each(KINDS)(
    '%s: no overlap, no run after abort, settles, no timer left, exact cadence',
    async (kind) => {
      await fc.assert(
        fc.asyncProperty(
          specArb([kind]),
          fc.nat(300),
          fc.boolean(),
          async (spec, abortAt, abortInside) => {
            await checkScenario({ specs: [spec], abortAt, abortInside });
          },
        ),
        params(NUM_RUNS),
      );
    },
  );

  it('several loops of any kind sharing one clock and one stop signal', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(specArb(KINDS), { minLength: 2, maxLength: 4 }),
        fc.nat(300),
        fc.boolean(),
        async (specs, abortAt, abortInside) => {
          await checkScenario({ specs, abortAt, abortInside });
        },
      ),
      params(100),
    );
  });

  it('nonSlidingUntil with runs shorter than the period starts exactly at start + n * period', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 50 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.nat(1000),
        fc.integer({ min: 0, max: 500 }),
        async (period, fractions, startAt, abortAfter) => {
          const clock = new FakeClock(startAt);
          const controller = new AbortController();
          const starts: number[] = [];
          let i = 0;
          const done = nonSlidingUntil(
            async () => {
              starts.push(clock.now());
              // A run time in [0, period): whole milliseconds.
              await sleep(clock, Math.floor(fractions[i++ % fractions.length] * period));
            },
            period,
            controller.signal,
            { clock },
          );
          await clock.advance(abortAfter);
          controller.abort();
          await clock.advance(period);
          await done;
          expect(starts).toEqual(
            Array.from(
              { length: Math.floor(abortAfter / period) + 1 },
              (_, n) => startAt + n * period,
            ),
          );
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      params(NUM_RUNS),
    );
  });

  it('until: the gap between the end of a run and the next start is exactly the period', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.nat(100), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        async (period, runTimes, abortAfter) => {
          const clock = new FakeClock();
          const controller = new AbortController();
          const runs: { start: number; end: number }[] = [];
          const done = until(
            async () => {
              const start = clock.now();
              await sleep(clock, runTimes[runs.length % runTimes.length]);
              runs.push({ start, end: clock.now() });
            },
            period,
            controller.signal,
            { clock },
          );
          await clock.advance(abortAfter);
          controller.abort();
          await clock.advance(100);
          await done;
          for (let k = 1; k < runs.length; k++) {
            expect(runs[k].start - runs[k - 1].end).toBe(period);
          }
          // The loop kept going until the abort.
          const last = runs[runs.length - 1];
          expect(last.end + period).toBeGreaterThan(abortAfter);
          expect(last.start).toBeLessThanOrEqual(abortAfter);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      params(NUM_RUNS),
    );
  });

  it('a stop signal aborted before the call: fn never runs, the promise resolves, no timer', async () => {
    await fc.assert(
      fc.asyncProperty(specArb(KINDS), async (spec) => {
        const clock = new FakeClock();
        const controller = new AbortController();
        controller.abort();
        const h = new Harness(spec, clock, controller.signal, () => undefined);
        await clock.advance(1000);
        expect(h.runs).toEqual([]);
        expect(h.settled).toBe(true);
        expect(h.rejected).toBe(false);
        expect(h.settledAt).toBe(0);
        expect(clock.pendingTimers).toBe(0);
      }),
      params(50),
    );
  });
});
