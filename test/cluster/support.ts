import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { Test } from '@nestjs/testing';
import {
  PollingRegistry,
  WaitModule,
  type PollingContext,
  type WaitModuleOptions,
} from '../../lib/index.js';
import type { FakeCluster, FakeReplica } from '../../lib/testing/index.js';
import { CapturingLogger } from '../polling/support.js';

/** One run of a spread loop, as the test's downstream saw it. */
export interface Run {
  loop: string;
  replica: string;
  token: number | undefined;
  start: number;
  end: number | undefined;
  /** Whether the downstream took its write (its token was not below the greatest seen). */
  written: boolean | undefined;
}

/** A downstream that keeps the greatest token per loop, and every run. */
export class Downstream {
  readonly runs: Run[] = [];
  private readonly tokens = new Map<string, number>();

  constructor(private readonly cluster: FakeCluster) {}

  begin(loop: string, replica: string, token: number | undefined): Run {
    const run: Run = {
      loop,
      replica,
      token,
      start: this.cluster.clock.now(),
      end: undefined,
      written: undefined,
    };
    this.runs.push(run);
    return run;
  }

  /** The run's fenced write, at its end. */
  finish(run: Run): void {
    run.end = this.cluster.clock.now();
    const greatest = this.tokens.get(run.loop) ?? -Infinity;
    run.written = run.token !== undefined && run.token >= greatest;
    if (run.written) this.tokens.set(run.loop, run.token!);
  }

  of(loop: string): Run[] {
    return this.runs.filter((r) => r.loop === loop);
  }

  /**
   * Per loop: runs of two replicas overlap only when the earlier one's write was refused (a
   * replica that was paused or cut off), and tokens never go back from one owner to the next.
   */
  check(): void {
    const byLoop = new Map<string, Run[]>();
    for (const run of this.runs) {
      let list = byLoop.get(run.loop);
      if (list === undefined) byLoop.set(run.loop, (list = []));
      list.push(run);
    }
    for (const [loop, runs] of byLoop) {
      runs.sort((a, b) => a.start - b.start);
      for (let i = 0; i < runs.length; i++) {
        const a = runs[i];
        expect(a.token).toBeDefined();
        for (let j = i + 1; j < runs.length; j++) {
          const b = runs[j];
          const overlap = a.end === undefined || a.end > b.start;
          if (!overlap) continue;
          if (a.replica === b.replica) throw new Error(`${loop}: two runs on ${a.replica} overlap`);
          // The earlier run belongs to an owner that was replaced: its write must be refused.
          expect({ loop, earlier: a.token! < b.token!, refused: a.written !== true }).toEqual({
            loop,
            earlier: true,
            refused: true,
          });
        }
        if (i > 0 && runs[i - 1].replica !== a.replica) {
          expect(a.token!).toBeGreaterThan(runs[i - 1].token!);
        }
      }
    }
  }
}

export interface App {
  replica: FakeReplica;
  app: INestApplication;
  registry: PollingRegistry;
  logger: CapturingLogger;
}

/** Boots one replica's app: WaitModule on the replica's clock and store link. */
export async function bootReplica(
  replica: FakeReplica,
  options: Partial<WaitModuleOptions> = {},
  placement: 'spread' | 'leader' | 'every' = 'spread',
): Promise<App> {
  const logger = new CapturingLogger();
  const ref = await Test.createTestingModule({
    imports: [WaitModule.forRoot({ ...replica.options(placement), ...options })],
  })
    .setLogger(logger)
    .compile();
  const app = ref.createNestApplication({ logger });
  await app.init();
  return { replica, app, registry: app.get(PollingRegistry), logger };
}

/**
 * Adds `count` loops `loop-0`… (spread by default) whose runs last `duration` ms (or until
 * aborted), each written to `downstream` with its fencing token.
 */
export function addLoops(
  target: App,
  downstream: Downstream,
  {
    count,
    period = 1000,
    duration = 100,
    prefix = 'loop',
    sliding = true,
    placement = 'spread',
    initialDelay,
  }: {
    count: number;
    placement?: 'spread' | 'leader';
    period?: number;
    duration?: number;
    prefix?: string;
    sliding?: boolean;
    initialDelay?: number;
  },
): string[] {
  const names: string[] = [];
  const clock = target.replica.clock;
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${i}`;
    names.push(name);
    target.registry.add(
      name,
      async ({ signal, fencingToken }: PollingContext) => {
        const run = downstream.begin(name, target.replica.identity, fencingToken);
        await new Promise<void>((resolve) => {
          const timer = clock.setTimeout(resolve, duration);
          signal.addEventListener('abort', () => {
            clock.clearTimeout(timer);
            resolve();
          });
        });
        downstream.finish(run);
      },
      { period, sliding, placement, initialDelay },
    );
  }
  return names;
}

/** How many loops each replica owns, by the registry's status on the replica. */
export function owned(apps: readonly App[], names: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { registry, replica } of apps) {
    if (replica.state !== 'up') continue;
    for (const name of names) {
      if (!registry.has(name)) continue;
      const status = registry.get(name);
      if (status.state === 'running' && status.owner === replica.identity) {
        counts.set(replica.identity, (counts.get(replica.identity) ?? 0) + 1);
      }
    }
  }
  return counts;
}

/** A property test's step of time passing: up to `max` ms. */
export const advanceStep = (max: number) =>
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max }) });

/** A property test's fault, on one of up to 6 replicas: see {@link applyFault}. */
export const faultStep: fc.Arbitrary<FaultStep> = fc.record({
  kind: fc.constantFrom('crash', 'pause', 'partition', 'leave', 'join' as const),
  who: fc.nat(5),
});

/**
 * A fault a property test applies to one of its replicas (`who` modulo their number); a
 * `'join'` is the caller's to make (it boots its own replica), and does nothing here.
 */
export interface FaultStep {
  kind: 'crash' | 'pause' | 'partition' | 'leave' | 'join';
  who: number;
}

/**
 * Applies `step` to its replica: crash (SIGKILL), pause or resume (SIGSTOP/SIGCONT), partition
 * or heal, or a graceful leave (`app.close()`, then nothing of it happens any more). Answers the
 * replica it crashed, if it did, whose calls in flight never settle.
 */
export async function applyFault(
  cluster: FakeCluster,
  apps: readonly App[],
  step: FaultStep,
): Promise<App | undefined> {
  const target = apps[step.who % apps.length];
  const state = target.replica.state;
  if (step.kind === 'leave' && state === 'up') {
    await cluster.clock.runUntil(target.app.close());
    target.replica.crash();
  } else if (step.kind === 'crash' && state !== 'crashed') {
    target.replica.crash();
    return target;
  } else if (step.kind === 'pause') {
    if (state === 'up') target.replica.pause();
    else if (state === 'paused') target.replica.resume();
  } else if (step.kind === 'partition') {
    if (state === 'up') target.replica.partition();
    else if (state === 'partitioned') target.replica.heal();
  }
  return undefined;
}

/** The faults end: every replica still alive is up again. */
export function endFaults(apps: readonly App[]): void {
  for (const a of apps) {
    if (a.replica.state === 'paused') a.replica.resume();
    if (a.replica.state === 'partitioned') a.replica.heal();
  }
}
