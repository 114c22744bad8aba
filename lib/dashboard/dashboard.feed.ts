import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  audit,
  catchError,
  defer,
  distinctUntilChanged,
  EMPTY,
  exhaustMap,
  from,
  map,
  merge,
  Observable,
  of,
  ReplaySubject,
  share,
  startWith,
  Subject,
  takeUntil,
} from 'rxjs';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { LoopEvent, LoopStatus, MemberStatus } from '../polling/polling.interfaces.js';
import { orchestratorOf, PollingRegistry } from '../polling/polling.registry.js';
import type { Clock } from '../wait/internal.js';
import { DASHBOARD_REFRESH_MS, DASHBOARD_SETTINGS } from './dashboard.constants.js';
import type { DashboardSettings } from './dashboard.options.js';
import { type DashboardRunSpan, RunHistory } from './run-history.js';

/** One loop as the dashboard shows it: its cluster status without `lastError` (not JSON-safe). */
export type DashboardLoop = Omit<LoopStatus, 'lastError'>;

/** What `GET <path>/api/state` answers, and each SSE `state` event carries. */
export interface DashboardState {
  loops: DashboardLoop[];
  members: MemberStatus[];
  readOnly: boolean;
}

/** What `GET <path>/api/state` answers: the state, with every loop's recent runs. */
export interface DashboardSnapshot extends DashboardState, DashboardTimeline {}

/**
 * What each SSE `timeline` event carries: at connect every loop's recent runs, then each run as
 * it starts and ends. `now` is the registry's clock time (ms), so that the page draws its
 * timelines on the server's time, whatever the browser's clock says.
 */
export interface DashboardTimeline {
  now: number;
  runs: DashboardRunSpan[];
}

/** What each SSE `run` event carries: one of `events$`, without its `error`. */
export interface DashboardRun {
  name: string;
  type: LoopEvent['type'];
  iteration: number;
  at: string;
}

/**
 * One server-sent event, as Nest's `@Sse()` writes it: a `state` event's data is the state
 * already serialized (once, for every client), a `run` event's a {@link DashboardRun}.
 */
export interface DashboardMessage {
  type: 'state' | 'run' | 'timeline';
  data: string | DashboardRun | DashboardTimeline;
}

/**
 * @internal The state and runs every SSE client of the dashboard listens to. One feed per app:
 * its store reads (`list({ cluster: true })` every {@link DASHBOARD_REFRESH_MS} and 100 ms after a
 * burst of run events, one at a time) are shared by all clients, and stop when the last one leaves. On module destroy
 * every stream completes, so Nest ends the open responses and `app.close()` does not wait on them.
 */
@Injectable()
export class DashboardFeed implements OnModuleDestroy {
  readonly #closed = new Subject<void>();
  #destroyed = false;
  /** The responses of the connected clients, to wait for their end on module destroy. */
  readonly #responses = new Set<ServerResponse>();
  readonly #states: Observable<string>;
  readonly #runs: Observable<DashboardRun>;
  readonly #history = new RunHistory();
  /** Each span the history made or changed, to send as a `timeline` event. */
  readonly #spans = new Subject<DashboardRunSpan>();

  constructor(
    @Inject(PollingRegistry) private readonly registry: PollingRegistry,
    @Inject(DASHBOARD_SETTINGS) private readonly settings: DashboardSettings,
  ) {
    this.#runs = registry.events$.pipe(
      map((event) => ({
        name: event.name,
        type: event.type,
        iteration: event.iteration,
        at: event.at.toISOString(),
      })),
      takeUntil(this.#closed),
      share(),
    );
    // Followed for the app's life, not only while a client listens: a page opened later shows
    // the runs before it.
    registry.events$.pipe(takeUntil(this.#closed)).subscribe((event) => {
      const span = this.#history.event(event);
      if (span !== undefined) this.#spans.next(span);
    });
    // The feed only re-reads: on a tick, or when a run says the view changed (a burst of run
    // events makes one read, 100 ms after its first), on the registry's clock like the loops (a
    // FakeClock drives it in tests). exhaustMap: a read in progress absorbs the requests made
    // meanwhile.
    const clock = orchestratorOf(registry).options.clock;
    const ticks = every(clock, DASHBOARD_REFRESH_MS);
    this.#states = merge(ticks, this.#runs.pipe(audit(() => after(clock, 100)))).pipe(
      startWith(0),
      exhaustMap(() =>
        from(this.read()).pipe(
          // A store out of reach skips this refresh; the next tick tries again.
          catchError(() => EMPTY),
        ),
      ),
      // Serialized once for every client, and compared so that only changes are sent.
      map((state) => JSON.stringify(state)),
      distinctUntilChanged(),
      takeUntil(this.#closed),
      // The last state is replayed to each new client; the reads stop with the last client.
      share({
        connector: () => new ReplaySubject<string>(1),
        resetOnError: true,
        resetOnComplete: true,
        resetOnRefCountZero: true,
      }),
    );
  }

  /**
   * The cluster's view now, in one store call. The runs of the loops another replica owns are
   * taken from it for their timelines (this replica's own come from `events$`).
   */
  async read(): Promise<DashboardState> {
    const statuses = await this.registry.list({ cluster: true });
    const members = this.registry.members();
    const self = members.find((member) => member.self)?.identity;
    // lastError may be anything (and is absent for remote loops); lastErrorMessage says it.
    const loops = statuses.map(({ lastError: _lastError, ...loop }) => loop);
    for (const loop of loops) {
      const remote = self !== undefined && loop.placement !== 'every' && loop.owner !== self;
      const span = remote ? this.#history.observed(loop) : undefined;
      if (span !== undefined) this.#spans.next(span);
    }
    this.#history.keepOnly(new Set(loops.map((loop) => loop.name)));
    return { loops, members, readOnly: this.settings.readOnly };
  }

  /** The state now, with every loop's recent runs (`GET <path>/api/state`). */
  async snapshot(): Promise<DashboardSnapshot> {
    const state = await this.read();
    return { ...state, ...this.#timeline(this.#history.all()) };
  }

  #timeline(runs: DashboardRunSpan[]): DashboardTimeline {
    return { now: this.registry.now().getTime(), runs };
  }

  /**
   * The SSE stream of one client: the recent runs and the state at once, then the state on
   * change, every run event, and each timeline change.
   */
  stream(response?: ServerResponse): Observable<DashboardMessage> {
    // A client connecting during shutdown gets a stream that completes at once.
    return defer(() => {
      if (this.#destroyed) return EMPTY;
      if (response !== undefined && !response.writableFinished) {
        this.#responses.add(response);
        response.once('close', () => this.#responses.delete(response));
      }
      const timeline = (runs: DashboardRunSpan[]): DashboardMessage => ({
        type: 'timeline',
        data: this.#timeline(runs),
      });
      return merge(
        of(timeline(this.#history.all())),
        this.#states.pipe(map((json): DashboardMessage => ({ type: 'state', data: json }))),
        this.#runs.pipe(map((run): DashboardMessage => ({ type: 'run', data: run }))),
        this.#spans.pipe(map((span) => timeline([span]))),
      );
    }).pipe(takeUntil(this.#closed));
  }

  /**
   * Completes every client's stream, so Nest ends its response, and waits (up to 1 s) until the
   * responses have finished: their keep-alive sockets are then idle, which the HTTP server's
   * `close()` closes at once, instead of waiting for each client to let go (undici: 4 s).
   */
  async onModuleDestroy(): Promise<void> {
    this.#destroyed = true;
    this.#closed.next();
    this.#closed.complete();
    this.#spans.complete();
    const ends = [...this.#responses]
      .filter((response) => !response.writableFinished)
      .map((response) => once(response, 'finish').catch(() => undefined));
    const bound = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([Promise.all(ends), bound]);
    this.#responses.clear();
  }
}

/** Emits once, `ms` after it is subscribed to, on `clock`. */
function after(clock: Clock, ms: number): Observable<void> {
  return new Observable<void>((subscriber) => {
    const handle = clock.setTimeout(() => {
      subscriber.next();
      subscriber.complete();
    }, ms);
    return () => clock.clearTimeout(handle);
  });
}

/** Emits every `ms` from when it is subscribed to, on `clock`, until unsubscribed. */
function every(clock: Clock, ms: number): Observable<void> {
  return new Observable<void>((subscriber) => {
    let handle: unknown;
    const tick = (): void => {
      handle = clock.setTimeout(tick, ms);
      subscriber.next();
    };
    handle = clock.setTimeout(tick, ms);
    return () => clock.clearTimeout(handle);
  });
}
