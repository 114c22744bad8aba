import {
  InMemoryLeaseStore,
  type AcquireResult,
  type Lease,
  type LeaseStore,
  type LeaseWatch,
} from '../../lib/index.js';
import type { Clock } from '../../lib/index.js';

/** A log that keeps lines by level, for the elector's `logger`. */
export class LineLog {
  readonly lines: { level: string; message: string }[] = [];
  log(message: string): void {
    this.lines.push({ level: 'log', message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
  debug(message: string): void {
    this.lines.push({ level: 'debug', message });
  }
  of(level: string): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.message);
  }
}

/**
 * The in-memory store behind a switch that makes it fail the way a server does: answer late or
 * never (`hang`, a paused Redis, a locked row) or refuse (`fail`, connection refused). Hung calls
 * go through once the switch is back to `up`, as queued commands do after `CLIENT PAUSE`.
 */
export class SwitchedStore implements LeaseStore {
  /** `drop`: calls are lost and never answered, even once the store is back. */
  mode: 'up' | 'hang' | 'fail' | 'drop' = 'up';
  /** Each answer arrives this long after the call, on `clock` (a slow network). */
  latency = 0;
  calls: string[] = [];
  private held: (() => void)[] = [];
  readonly inner: InMemoryLeaseStore;

  constructor(
    private readonly clock: Clock,
    inner?: InMemoryLeaseStore,
  ) {
    this.inner = inner ?? new InMemoryLeaseStore(clock);
  }

  /** A second replica's view of the same store, with its own switch. */
  twin(clock: Clock): SwitchedStore {
    return new SwitchedStore(clock, this.inner);
  }

  set(mode: 'up' | 'hang' | 'fail' | 'drop'): void {
    this.mode = mode;
    if (mode === 'up') {
      const held = this.held;
      this.held = [];
      for (const go of held) go();
    }
  }

  acquire(name: string, identity: string, ttl: number): Promise<AcquireResult> {
    return this.through('acquire', () => this.inner.acquire(name, identity, ttl));
  }
  renew(name: string, lease: Lease, ttl: number): Promise<boolean> {
    return this.through('renew', () => this.inner.renew(name, lease, ttl));
  }
  release(name: string, lease: Lease): Promise<boolean> {
    return this.through('release', () => this.inner.release(name, lease));
  }
  watch(name: string, onReleased: () => void): Promise<LeaseWatch> {
    return this.inner.watch(name, onReleased);
  }

  private through<T>(what: string, call: () => Promise<T>): Promise<T> {
    this.calls.push(what);
    if (this.mode === 'fail') return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'));
    if (this.mode === 'drop') return new Promise<T>(() => undefined);
    if (this.mode === 'hang') {
      return new Promise<T>((resolve) => this.held.push(() => void call().then(resolve)));
    }
    if (this.latency > 0) {
      // The store acts at once; the answer takes the latency to come back.
      const answer = call();
      return new Promise<T>((resolve) =>
        this.clock.setTimeout(() => resolve(answer), this.latency),
      );
    }
    return call();
  }
}
