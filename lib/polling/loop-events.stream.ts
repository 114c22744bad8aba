import {
  Observable,
  Subject,
  Subscriber,
  type Observer,
  type Operator,
  type Subscription,
  type TeardownLogic,
} from 'rxjs';
import type { LoopEvent } from './polling.interfaces.js';

/** Where a subscriber's error goes, with the event that was being delivered when it was thrown. */
export type SubscriberErrorReport = (error: unknown, event: LoopEvent | undefined) => void;

/** What every stream derived from one {@link LoopEvents} shares. */
interface Hub {
  /** The event being delivered, while `Subject.next()` runs: delivery is synchronous. */
  current: LoopEvent | undefined;
  readonly report: SubscriberErrorReport;
}

/**
 * An Observable whose subscribers cannot throw out of it. RxJS hands an error thrown by a
 * subscriber (or left without an `error` callback) to `reportUnhandledError`, which rethrows it
 * from a timer: one buggy subscriber of a library's event stream would end the process. Here the
 * subscriber's callbacks are wrapped when it subscribes, and what they throw is reported instead.
 *
 * `lift` keeps the class through `pipe()`: RxJS operators build their result with
 * `source.lift()`, so `events$.pipe(filter(...)).subscribe(fn)` is guarded too, including an
 * error thrown by an operator's own function (`map`, `tap`), which arrives as an error
 * notification.
 */
class GuardedStream<T> extends Observable<T> {
  constructor(
    private readonly hub: Hub,
    subscribe?: (subscriber: Subscriber<T>) => TeardownLogic,
  ) {
    super(subscribe);
  }

  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    const lifted = new GuardedStream<R>(this.hub);
    // The two fields `Observable.lift` sets: the RxJS 7 way for a subclass to survive operators.
    lifted.source = this;
    lifted.operator = operator;
    return lifted;
  }

  override subscribe(
    observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription {
    // A Subscriber is an operator's (or firstValueFrom's) link in a chain: the user's callbacks
    // sit at the chain's end, where this was already called with them.
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext);
    const observer: Partial<Observer<T>> =
      typeof observerOrNext === 'function' || observerOrNext == null
        ? {
            next: observerOrNext ?? undefined,
            error: error ?? undefined,
            complete: complete ?? undefined,
          }
        : observerOrNext;
    return super.subscribe(this.guard(observer));
  }

  private guard(observer: Partial<Observer<T>>): Observer<T> {
    const { hub } = this;
    const attempt = (call: () => void) => {
      try {
        call();
      } catch (thrown) {
        hub.report(thrown, hub.current);
      }
    };
    return {
      next: (value) => attempt(() => observer.next?.call(observer, value)),
      error: (failure: unknown) =>
        observer.error === undefined
          ? hub.report(failure, hub.current)
          : attempt(() => observer.error!.call(observer, failure)),
      complete: () => attempt(() => observer.complete?.call(observer)),
    };
  }
}

/**
 * The registry's event stream: `emit` delivers to every subscriber in turn, and one that throws
 * is reported (with the event) while the others still receive it.
 */
export class LoopEvents {
  private readonly subject = new Subject<LoopEvent>();
  private readonly hub: Hub;
  /** What subscribers see. */
  readonly stream: Observable<LoopEvent>;

  constructor(report: SubscriberErrorReport) {
    this.hub = { current: undefined, report };
    this.stream = new GuardedStream<LoopEvent>(this.hub, (subscriber) =>
      this.subject.subscribe(subscriber),
    );
  }

  /** Whether anyone listens: no event object is built for nobody. */
  get observed(): boolean {
    return this.subject.observed;
  }

  emit(event: LoopEvent): void {
    const outer = this.hub.current;
    this.hub.current = event;
    try {
      this.subject.next(event);
    } finally {
      this.hub.current = outer;
    }
  }

  complete(): void {
    this.subject.complete();
  }
}
