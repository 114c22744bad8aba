import {
  applyJitter,
  LoopCore,
  type Clock,
  type LoopEnd,
  type LoopStrategy,
} from '../wait/internal.js';

/**
 * The elector's loop on the engine's loop core: one try (acquire or renew) every `period`,
 * sliding, each wait jittered by `jitter` while it is > 0. A try that throws is ignored (the
 * elector reports its own failures). Internal.
 */
export class ElectorLoop implements LoopStrategy {
  private core: LoopCore | undefined = undefined;
  private controller: AbortController | undefined = undefined;
  private resolveEnded: (() => void) | undefined = undefined;
  private ended$: Promise<void> | undefined = undefined;

  constructor(
    private readonly tick: (signal: AbortSignal) => Promise<void>,
    private readonly period: number,
    /** The jitter factor of the waits (client-go: 1.2 while following, 0 while leading). */
    private jitter: number,
    private readonly clock: Clock,
    private readonly random: () => number,
  ) {}

  /** Starts the loop, its first try at once. Once only. */
  start(): void {
    if (this.core !== undefined) return;
    this.controller = new AbortController();
    this.ended$ = new Promise<void>((resolve) => (this.resolveEnded = resolve));
    this.core = new LoopCore(this, true, this.clock);
    this.core.start(0);
  }

  /** Aborts the try in flight and resolves once it has settled. */
  stop(): Promise<void> {
    if (this.core === undefined) return Promise.resolve();
    this.controller!.abort();
    this.core.stop();
    return this.ended$!;
  }

  /** Tries now, after the try in flight. */
  trigger(): void {
    this.core?.runNow();
  }

  /** A new jitter factor, applied to the wait in progress too. */
  setJitter(jitter: number): void {
    if (jitter === this.jitter) return;
    this.jitter = jitter;
    this.core?.replan();
  }

  nextWait(): number {
    return this.jitter > 0 ? applyJitter(this.period, this.jitter, this.random) : this.period;
  }

  retryWait(): undefined {
    return undefined;
  }

  admit(): undefined {
    return undefined;
  }

  run(): unknown {
    return this.tick(this.controller!.signal);
  }

  settled(): undefined {
    return undefined;
  }

  ended(_end: LoopEnd): void {
    this.resolveEnded?.();
  }
}
