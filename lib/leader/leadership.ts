import { BehaviorSubject, type Observable } from 'rxjs';

/** Where this replica stands, from {@link LeaderElector.leadership$}. */
export interface Leadership {
  /** Whether this replica leads (holds a lease renewed within the renew deadline). */
  readonly leading: boolean;
  /** This replica's identity. */
  readonly identity: string;
  /** The identity of the leader as last seen in the store; `undefined` when not known. */
  readonly leader: string | undefined;
  /** The fencing token of this replica's term while it leads; `undefined` otherwise. */
  readonly fencingToken: number | undefined;
}

/**
 * The elector's {@link Leadership} as an observable: the current one on subscription, then each
 * one that differs from the last in `leading`, `leader` or `fencingToken`. Internal.
 */
export class LeadershipFeed {
  /** The current {@link Leadership} on subscription, then every change of it. */
  readonly leadership$: Observable<Leadership>;
  private readonly subject: BehaviorSubject<Leadership>;

  constructor(initial: Leadership) {
    this.subject = new BehaviorSubject(initial);
    this.leadership$ = this.subject.asObservable();
  }

  /** Emits `next`, unless it is the last one emitted in all but identity. */
  publish(next: Leadership): void {
    const last = this.subject.value;
    if (
      next.leading !== last.leading ||
      next.leader !== last.leader ||
      next.fencingToken !== last.fencingToken
    ) {
      this.subject.next(next);
    }
  }

  /** Completes {@link leadership$}: the elector has stopped. */
  complete(): void {
    this.subject.complete();
  }
}
