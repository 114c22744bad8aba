import { fileURLToPath } from 'node:url';
import { Injectable } from '@nestjs/common';
import { FakeClock } from '../../lib/testing/index.js';
import { PollingRegistry, Until, type LoopContext } from '../../lib/index.js';
import { boot, close, RunLog } from './support.js';

/* Loop semantics through the module, on FakeClock: overlap, cadence, jitter, errors, backoff. */

let log: RunLog;
let clock: FakeClock;
let outcomes: ('ok' | 'fail')[];
beforeEach(() => {
  clock = new FakeClock();
  log = new RunLog(clock);
  outcomes = [];
});

/** A run that takes `ms` on the fake clock. */
async function work(ms: number): Promise<void> {
  log.begin();
  await new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
  log.end();
}

describe('cadence', () => {
  it('a slow async method on a short non-sliding period never runs twice at once', async () => {
    @Injectable()
    class Slow {
      @Until(50, 0, false)
      async tick() {
        await work(120); // the @Interval comparison: 120 ms of work every 50 ms
      }
    }
    const booted = await boot({ providers: [Slow] }, {}, { clock });
    await clock.advance(1000);
    expect(log.maxRunning).toBe(1);
    // Each run starts as soon as the previous one settles (Go: the period includes the run).
    expect(log.starts).toEqual([0, 120, 240, 360, 480, 600, 720, 840, 960]);
    await close(booted);
  });

  it('sliding: start-to-start = run time + period', async () => {
    @Injectable()
    class Sliding {
      @Until(100)
      async tick() {
        await work(30);
      }
    }
    const booted = await boot({ providers: [Sliding] }, {}, { clock });
    await clock.advance(600);
    expect(log.gaps()).toEqual([130, 130, 130, 130]);
    await close(booted);
  });

  it('non-sliding: start-to-start = period while runs are shorter', async () => {
    @Injectable()
    class NonSliding {
      @Until(100, 0, false)
      async tick() {
        await work(30);
      }
    }
    const booted = await boot({ providers: [NonSliding] }, {}, { clock });
    await clock.advance(600);
    expect(log.starts).toEqual([0, 100, 200, 300, 400, 500, 600]);
    await close(booted);
  });

  it('jitter: every gap is in [period, period * (1 + jitter))', async () => {
    @Injectable()
    class Jittered {
      @Until(1000, 0.5, false)
      tick() {
        log.begin();
        log.end();
      }
    }
    const booted = await boot({ providers: [Jittered] }, {}, { clock });
    await clock.advance('10m');
    const gaps = log.gaps();
    expect(gaps.length).toBeGreaterThan(350);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(1000);
      expect(gap).toBeLessThan(1500);
    }
    // Spread over the range, not a constant: the jitter is drawn per wait.
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeGreaterThan(400);
    await close(booted);
  });

  it('initialDelay postpones the first run only', async () => {
    @Injectable()
    class Delayed {
      @Until(100, { initialDelay: 250 })
      tick() {
        log.begin();
        log.end();
      }
    }
    const booted = await boot({ providers: [Delayed] }, {}, { clock });
    await clock.advance(500);
    expect(log.starts).toEqual([250, 350, 450]);
    await close(booted);
  });
});

describe('errors', () => {
  @Injectable()
  class Flaky {
    @Until('1s')
    async tick(ctx: LoopContext) {
      await Promise.resolve();
      const outcome = outcomes[ctx.iteration - 1] ?? 'ok';
      if (outcome === 'fail') throw new Error(`disk full #${ctx.iteration}`);
    }
  }

  it('are logged with the name and the count of consecutive failures; the loop goes on; recovery is logged once', async () => {
    outcomes = ['ok', 'fail', 'fail', 'fail', 'ok', 'ok', 'fail', 'ok'];
    const booted = await boot({ providers: [Flaky] }, {}, { clock });
    await clock.advance('7s');
    expect(booted.logger.of('error')).toEqual([
      'Loop Flaky.tick failed (once)',
      'Loop Flaky.tick failed (2 times in a row)',
      'Loop Flaky.tick failed (3 times in a row)',
      'Loop Flaky.tick failed (once)',
    ]);
    const stack = booted.logger.lines.find((l) => l.level === 'error')!.detail as string;
    expect(stack).toMatch(/^Error: disk full #2\n\s+at /);
    expect(booted.logger.of('log')).toEqual([
      'Loop Flaky.tick succeeded after 3 failures',
      'Loop Flaky.tick succeeded after 1 failure',
    ]);
    expect(booted.logger.of('verbose')).toEqual([
      'Loop Flaky.tick succeeded (run 1)',
      'Loop Flaky.tick succeeded (run 6)',
    ]);
    const status = booted.app.get(PollingRegistry).get('Flaky.tick');
    expect([status.iterations, status.failures, status.consecutiveFailures]).toEqual([8, 4, 0]);
    expect((status.lastError as Error).message).toBe('disk full #7');
    await close(booted);
  });

  it('a sync throw, a rejected promise and a thrown non-Error all keep the loop going, with no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      @Injectable()
      class Bad {
        @Until(100)
        sync() {
          throw new TypeError('sync');
        }
        @Until(100)
        async rejects() {
          await Promise.resolve();
          throw new Error('async');
        }
        @Until(100)
        async value() {
          return Promise.reject('a string'); // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors
        }
      }
      const booted = await boot({ providers: [Bad] }, {}, { clock });
      await clock.advance(1000);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(
        booted.app
          .get(PollingRegistry)
          .list()
          .map((s) => s.failures),
      ).toEqual([11, 11, 11]);
      expect(
        booted.logger.lines.find((l) => l.message === 'Loop Bad.value failed (once)')!.detail,
      ).toBe("'a string'");
      await close(booted);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a repeated error logs its stack once, then one line with the count; a new error or a new streak logs it again', async () => {
    const errors = ['down', 'down', 'down', 'other', 'other', 'ok', 'down', 'down'];
    @Injectable()
    class Repeating {
      @Until('1s')
      tick(ctx: LoopContext) {
        const outcome = errors[ctx.iteration - 1] ?? 'ok';
        if (outcome !== 'ok') throw new Error(`service ${outcome}`);
      }
    }
    const booted = await boot({ providers: [Repeating] }, {}, { clock });
    await clock.advance('7s');
    const lines = booted.logger.lines.filter((l) => l.level === 'error');
    expect(lines.map((l) => [l.message, typeof l.detail])).toEqual([
      ['Loop Repeating.tick failed (once)', 'string'],
      [
        'Loop Repeating.tick failed (2 times in a row), the same error as before: Error: service down',
        'undefined',
      ],
      [
        'Loop Repeating.tick failed (3 times in a row), the same error as before: Error: service down',
        'undefined',
      ],
      ['Loop Repeating.tick failed (4 times in a row)', 'string'], // the error changed
      [
        'Loop Repeating.tick failed (5 times in a row), the same error as before: Error: service other',
        'undefined',
      ],
      ['Loop Repeating.tick failed (once)', 'string'], // a new streak after the recovery
      [
        'Loop Repeating.tick failed (2 times in a row), the same error as before: Error: service down',
        'undefined',
      ],
    ]);
    expect(lines[3].detail).toMatch(/^Error: service other\n/);
    await close(booted);
  });

  it("a stack logs the run's own frames and cause chain, not this package's frames; a non-Error shows its content", async () => {
    const lib = new URL('../../lib/', import.meta.url);
    @Injectable()
    class Layered {
      @Until('1s')
      wrapped() {
        const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        throw new Error('sync failed', { cause });
      }
      @Until('1s')
      object() {
        throw { code: 'E_OBJ', detail: { retry: true } }; // eslint-disable-line @typescript-eslint/only-throw-error
      }
    }
    const booted = await boot({ providers: [Layered] }, {}, { clock });
    await clock.advance(0);
    const detail = (name: string) =>
      booted.logger.lines.find((l) => l.message === `Loop Layered.${name} failed (once)`)!
        .detail as string;
    const stack = detail('wrapped');
    expect(stack).toMatch(/^Error: sync failed\n\s+at Layered\.wrapped /);
    expect(stack).toContain('[cause]: Error: connect ECONNREFUSED');
    expect(stack).toContain("code: 'ECONNREFUSED'");
    expect(stack).not.toContain(lib.href);
    expect(stack).not.toContain(fileURLToPath(lib));
    expect(detail('object')).toBe("{ code: 'E_OBJ', detail: { retry: true } }");
    await close(booted);
  });

  it('a logger that throws does not stop the loop', async () => {
    @Injectable()
    class Failing {
      @Until(100)
      tick() {
        log.begin();
        log.end();
        throw new Error('x');
      }
    }
    const booted = await boot({ providers: [Failing] }, {}, { clock });
    booted.logger.error = () => {
      throw new Error('log sink down');
    };
    await clock.advance(300);
    expect(log.starts).toEqual([0, 100, 200, 300]);
    expect(booted.app.get(PollingRegistry).get('Failing.tick').failures).toBe(4);
    await close(booted);
  });

  it('with backoff: a failed run waits the backoff (x2 up to max) instead of the period; success resets it', async () => {
    outcomes = ['fail', 'fail', 'fail', 'fail', 'fail', 'ok', 'ok', 'fail', 'ok'];
    @Injectable()
    class Backing {
      @Until('10s', { backoff: { initial: '1s', max: '4s' } })
      tick(ctx: LoopContext) {
        log.begin();
        log.end();
        if (outcomes[ctx.iteration - 1] === 'fail') throw new Error('no');
      }
    }
    const booted = await boot({ providers: [Backing] }, {}, { clock });
    await clock.advance('60s');
    // fail 1s fail 2s fail 4s fail 4s fail 4s ok 10s ok 10s fail 1s (reset) ok 10s ...
    expect(
      log
        .gaps()
        .slice(0, 9)
        .map((g) => g / 1000),
    ).toEqual([1, 2, 4, 4, 4, 10, 10, 1, 10]);
    await close(booted);
  });

  it('with backoff on a non-sliding loop: after recovery the cadence re-anchors at the recovered run', async () => {
    outcomes = ['ok', 'fail', 'ok', 'ok'];
    @Injectable()
    class Backing {
      @Until('10s', { sliding: false, backoff: { initial: '3s', max: '1m' } })
      async tick(ctx: LoopContext) {
        await work(1000);
        if (outcomes[ctx.iteration - 1] === 'fail') throw new Error('no');
      }
    }
    const booted = await boot({ providers: [Backing] }, {}, { clock });
    await clock.advance('40s');
    // 0 ok; 10s fails at 11s, backoff 3s from the failure: 14s; then every 10s from there.
    expect(log.starts.map((t) => t / 1000)).toEqual([0, 10, 14, 24, 34]);
    await close(booted);
  });
});
