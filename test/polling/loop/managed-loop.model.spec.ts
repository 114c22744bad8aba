/*
 * The model of ManagedLoop (lib/polling/loop/managed-loop.ts) the registry relies on, checked by
 * fast-check: random sequences of start, stop, trigger, update and runs that succeed, fail or
 * hang, against the invariants (no overlap, no run after stop(), every promise resolves, no
 * timer left, exact counters). The example tests are in managed-loop.*.spec.ts, one behaviour a file.
 */
import fc from 'fast-check';
import type { PollingContext } from '../../../lib/index.js';
import { ManagedLoop } from '../../../lib/polling/loop/managed-loop.js';
import type { LoopSettings, ManagedLoopObserver } from '../../../lib/polling/loop/loop-settings.js';
import { FakeClock } from '../../../lib/testing/index.js';
import { observe, QUIET, seeded, sleep } from '../../support/helpers.js';

/** fast-check parameters: `numRuns` cases, and a time limit so that shrinking reports in time. */
const params = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns,
  interruptAfterTimeLimit: 10_000,
});

/** Longest run of the property tests, and an upper bound of any wait they can plan. */
const MAX_RUN = 40;
const MAX_GAP = 300;

const backoffArb = fc.option(
  fc.record({
    initial: fc.integer({ min: 1, max: 20 }),
    max: fc.integer({ min: 20, max: 80 }),
    factor: fc.constantFrom(1, 1.5, 2, 3),
    jitter: fc.constantFrom(0, 0.5),
    resetAfter: fc.integer({ min: 0, max: 200 }),
  }),
  { nil: undefined },
);

const settingsArb: fc.Arbitrary<LoopSettings> = fc.record({
  period: fc.integer({ min: 1, max: 100 }),
  jitter: fc.constantFrom(0, 0.3),
  sliding: fc.boolean(),
  initialDelay: fc.integer({ min: 0, max: 50 }),
  backoff: backoffArb,
});

const runArb = fc.record({
  async: fc.boolean(),
  ms: fc.integer({ min: 0, max: MAX_RUN }),
  fail: fc.boolean(),
  /** Async runs only: rejects with the signal's reason as soon as it aborts (cut short). */
  honoursAbort: fc.boolean(),
});

type RunSpec = { async: boolean; ms: number; fail: boolean; honoursAbort?: boolean };

type Op =
  | { t: 'start' }
  | { t: 'stop' }
  | { t: 'trigger'; again: boolean }
  | { t: 'update'; settings: LoopSettings }
  | { t: 'advance'; ms: number };

const opArb: fc.Arbitrary<{ op: Op; sameTick: boolean }> = fc.record({
  op: fc.oneof(
    { arbitrary: fc.constant<Op>({ t: 'start' }), weight: 3 },
    { arbitrary: fc.constant<Op>({ t: 'stop' }), weight: 2 },
    {
      arbitrary: fc.boolean().map<Op>((again) => ({ t: 'trigger', again })),
      weight: 3,
    },
    { arbitrary: settingsArb.map<Op>((s) => ({ t: 'update', settings: s })), weight: 2 },
    {
      arbitrary: fc.integer({ min: 0, max: MAX_GAP + 100 }).map<Op>((ms) => ({ t: 'advance', ms })),
      weight: 5,
    },
  ),
  // Whether the next operation follows in the same tick (no promise callback in between).
  sameTick: fc.boolean(),
});

interface Run {
  start: number;
  startSeq: number;
  endSeq: number | undefined;
  failed: boolean;
  /** Rejected with the signal's reason after stop(): neither a success nor a failure. */
  cut: boolean;
  iteration: number;
}

interface Waiter {
  kind: 'trigger' | 'stop';
  callSeq: number;
  resolveSeq: number | undefined;
}

/** Drives one ManagedLoop through `ops` and checks every invariant; returns the violations. */
async function checkOperations(
  initial: LoopSettings,
  plans: RunSpec[],
  ops: { op: Op; sameTick: boolean }[],
  seed: number,
): Promise<string[]> {
  const clock = new FakeClock();
  const violations: string[] = [];
  const runs: Run[] = [];
  const waiters: Waiter[] = [];
  const stopCalls: number[] = [];
  let seq = 0;
  let inFlight = 0;
  /** Set by stop(), cleared by start() and trigger(): no run may start while it is set. */
  let stopGate = false;
  let cuts = 0;
  const observed = { started: 0, succeeded: 0, failed: 0, outcomeBeforeStart: true };

  const fn = (ctx: PollingContext): unknown => {
    if (stopGate) violations.push(`run ${runs.length + 1} started after stop() at ${clock.now()}`);
    if (inFlight !== 0) violations.push(`run ${runs.length + 1} overlaps at ${clock.now()}`);
    inFlight++;
    const run: Run = {
      start: clock.now(),
      startSeq: ++seq,
      endSeq: undefined,
      failed: false,
      cut: false,
      iteration: ctx.iteration,
    };
    const n = runs.push(run);
    const plan = plans[(n - 1) % plans.length];
    const settle = (): void => {
      inFlight--;
      run.endSeq = ++seq;
      run.failed = plan.fail;
      if (plan.fail) throw new Error(`run ${n}`);
    };
    if (!plan.async) return settle();
    if (!plan.honoursAbort) return sleep(clock, plan.ms).then(settle);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clock.clearTimeout(timer);
        inFlight--;
        run.endSeq = ++seq;
        run.cut = true;
        cuts++;
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- as fetch() rejects
        reject(ctx.signal.reason);
      };
      const timer = clock.setTimeout(() => {
        ctx.signal.removeEventListener('abort', onAbort);
        try {
          settle();
          resolve();
        } catch (error) {
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what settle() threw
          reject(error);
        }
      }, plan.ms);
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
  };
  const observer: ManagedLoopObserver = {
    runStarted: () => {
      if (observed.started !== observed.succeeded + observed.failed + cuts) {
        observed.outcomeBeforeStart = false;
      }
      observed.started++;
    },
    runSucceeded: () => void observed.succeeded++,
    runFailed: () => void observed.failed++,
    stopped: () => undefined,
  };
  const loop = new ManagedLoop('prop', fn, initial, { clock, random: seeded(seed), observer });

  const trigger = (again: boolean): void => {
    stopGate = false;
    const waiter: Waiter = { kind: 'trigger', callSeq: ++seq, resolveSeq: undefined };
    waiters.push(waiter);
    void loop.trigger().then(() => {
      waiter.resolveSeq = ++seq;
      // A trigger right after the last one resolved: the microtask after its run settled.
      if (again) trigger(false);
    });
  };
  const stop = (): void => {
    stopGate = true;
    const waiter: Waiter = { kind: 'stop', callSeq: ++seq, resolveSeq: undefined };
    waiters.push(waiter);
    stopCalls.push(waiter.callSeq);
    void loop.stop().then(() => void (waiter.resolveSeq = ++seq));
  };

  for (const { op, sameTick } of ops) {
    switch (op.t) {
      case 'start':
        stopGate = false;
        ++seq;
        loop.start();
        break;
      case 'stop':
        stop();
        break;
      case 'trigger':
        trigger(op.again);
        break;
      case 'update':
        ++seq;
        loop.update(op.settings);
        break;
      case 'advance': {
        const wasRunning = loop.state === 'running';
        const before = runs.length;
        await clock.advance(op.ms);
        // Liveness: a running loop never rests longer than any wait it can plan plus a run.
        if (wasRunning && loop.state === 'running' && op.ms >= MAX_GAP && runs.length === before) {
          violations.push(`no run in ${op.ms} ms while running (at ${clock.now()})`);
        }
        break;
      }
    }
    if (stopGate && loop.state !== 'stopped') violations.push(`state ${loop.state} after stop()`);
    if (!sameTick) await clock.flush();
  }

  // The final stop, then every run settles.
  stop();
  await clock.advance(MAX_RUN * 4 + 1);
  await clock.advance(MAX_RUN * 4 + 1);

  if (clock.pendingTimers !== 0) violations.push(`${clock.pendingTimers} timers left`);
  if (loop.inFlight || inFlight !== 0) violations.push('a run is still in flight');
  if (loop.state !== 'stopped') violations.push(`state ${loop.state} after the final stop`);
  if (loop.iterations !== runs.length) {
    violations.push(`iterations ${loop.iterations} for ${runs.length} runs`);
  }
  runs.forEach((run, i) => {
    if (run.iteration !== i + 1) violations.push(`run ${i + 1} had iteration ${run.iteration}`);
    if (run.endSeq === undefined) violations.push(`run ${i + 1} never settled`);
  });
  const failed = runs.filter((run) => run.failed).length;
  if (loop.failures !== failed) violations.push(`failures ${loop.failures}, expected ${failed}`);
  // Cut runs neither fail nor succeed: they leave the count of consecutive failures alone.
  let trailing = 0;
  for (let i = runs.length - 1; i >= 0 && (runs[i].failed || runs[i].cut); i--) {
    if (runs[i].failed) trailing++;
  }
  if (loop.consecutiveFailures !== trailing) {
    violations.push(`consecutiveFailures ${loop.consecutiveFailures}, expected ${trailing}`);
  }
  if (runs.length > 0 && loop.lastStartedAt !== runs[runs.length - 1].start) {
    violations.push(`lastStartedAt ${loop.lastStartedAt}`);
  }
  if (
    observed.started !== runs.length ||
    observed.succeeded + observed.failed + cuts !== runs.length ||
    observed.failed !== failed ||
    !observed.outcomeBeforeStart
  ) {
    violations.push(`observer ${JSON.stringify(observed)} for ${runs.length} runs`);
  }
  for (const waiter of waiters) {
    const { kind, callSeq, resolveSeq } = waiter;
    if (resolveSeq === undefined) {
      violations.push(`a ${kind}() called at #${callSeq} never resolved`);
      continue;
    }
    if (kind === 'stop') {
      // Resolves only once every run that started before it has settled.
      for (const run of runs) {
        if (run.startSeq < callSeq && run.endSeq! > resolveSeq) {
          violations.push(`stop() #${callSeq} resolved before the run in flight settled`);
        }
      }
      continue;
    }
    // A trigger resolves after the first run that started after it settled, or (without a run)
    // when a stop() came in between. (resolveSeq is taken a microtask after the resolution.)
    if (stopCalls.some((s) => s > callSeq && s < resolveSeq)) continue;
    const served = runs.find((run) => run.startSeq > callSeq);
    if (served === undefined || served.startSeq > resolveSeq) {
      violations.push(`trigger() #${callSeq} resolved without a run and without a stop()`);
    } else if (served.endSeq! > resolveSeq) {
      violations.push(`trigger() #${callSeq} resolved before its run settled`);
    }
  }
  return violations;
}

describe('ManagedLoop properties', () => {
  it('under random operations: no overlap, no run after stop(), every promise resolves, no timer left, exact counters', async () => {
    await fc.assert(
      fc.asyncProperty(
        settingsArb,
        fc.array(runArb, { minLength: 1, maxLength: 6 }),
        fc.array(opArb, { minLength: 1, maxLength: 25 }),
        fc.integer(),
        async (initial, plans, ops, seed) => {
          const violations = await checkOperations(initial, plans, ops, seed);
          expect(violations).toEqual([]);
        },
      ),
      params(500),
    );
  });

  it('a started loop keeps its exact schedule: period, jitter, sliding or not, and backoff after failures', async () => {
    await fc.assert(
      fc.asyncProperty(
        settingsArb,
        fc.array(runArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.integer({ min: 0, max: 600 }),
        async (s, plans, randoms, stopAt) => {
          const clock = new FakeClock();
          let draws = 0;
          const random = (): number => randoms[draws++ % randoms.length];
          const runs: { start: number; end: number; failed: boolean; draws: number }[] = [];
          /** nextRunAt read while waiting, and how many runs had started then. */
          const planned: { runsBefore: number; next: number }[] = [];
          const loop = new ManagedLoop(
            'prop',
            () => {
              const plan = plans[runs.length % plans.length];
              const run = { start: clock.now(), end: -1, failed: plan.fail, draws };
              runs.push(run);
              const settle = (): void => {
                run.end = clock.now();
                if (plan.fail) throw new Error('fail');
              };
              if (!plan.async) return settle();
              return sleep(clock, plan.ms).then(settle);
            },
            s,
            { clock, random: random, observer: QUIET },
          );
          loop.start();
          await clock.flush();
          for (let t = 0; t < stopAt; t += 7) {
            await clock.advance(Math.min(7, stopAt - t));
            const next = loop.nextRunAt;
            if (next !== undefined && !loop.inFlight)
              planned.push({ runsBefore: runs.length, next });
          }
          const stopped = observe(loop.stop(), clock);
          await clock.advance(MAX_RUN + 1);
          expect(stopped.state).toBe('resolved');
          expect(clock.pendingTimers).toBe(0);

          // The model: the wait after each run, from its draws of random().
          const eps = 1e-6;
          if (runs.length === 0) {
            expect(s.initialDelay).toBeGreaterThan(stopAt);
            return;
          }
          expect(runs[0].start).toBe(s.initialDelay);
          let failures = 0;
          let lastBackoffCall = 0;
          let backoffNext = 0;
          for (let k = 0; k + 1 < runs.length; k++) {
            const a = runs[k];
            const b = runs[k + 1];
            if (a.failed && s.backoff !== undefined) {
              const { initial, max, factor, jitter, resetAfter } = s.backoff;
              if (failures === 0 || a.end - lastBackoffCall > resetAfter) backoffNext = initial;
              lastBackoffCall = a.end;
              failures++;
              const base = backoffNext;
              backoffNext = Math.min(backoffNext * factor, max);
              // A jittered backoff wait lies in [base, base * (1 + jitter)].
              expect(b.start).toBeGreaterThanOrEqual(a.end + base - eps);
              expect(b.start).toBeLessThanOrEqual(a.end + base * (1 + jitter) + eps);
              continue;
            }
            if (!a.failed) failures = 0;
            // Sliding draws the wait when a run settles; non-sliding when it starts.
            const periodDraw = s.sliding ? b.draws - 1 : a.draws - 1;
            const wait =
              s.jitter > 0
                ? s.period + randoms[periodDraw % randoms.length] * s.jitter * s.period
                : s.period;
            if (s.sliding) {
              expect(Math.abs(b.start - (a.end + wait))).toBeLessThanOrEqual(eps);
            } else {
              expect(Math.abs(b.start - Math.max(a.end, a.start + wait))).toBeLessThanOrEqual(eps);
            }
          }
          // nextRunAt, read while waiting, is when the next run came.
          for (const { runsBefore, next } of planned) {
            const run = runs[runsBefore];
            if (run !== undefined) expect(Math.abs(run.start - next)).toBeLessThanOrEqual(eps);
          }
        },
      ),
      params(200),
    );
  });
});
