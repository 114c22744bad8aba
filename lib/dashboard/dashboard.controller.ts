import {
  ConflictException,
  Controller,
  ForbiddenException,
  Get,
  Header,
  Headers,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Res,
  Sse,
  type Type,
  UseGuards,
} from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { Observable } from 'rxjs';
import { describe } from '../leader/leader-messages.js';
import { PollingRegistry } from '../polling/polling.registry.js';
import { DASHBOARD_CSRF_HEADER, DASHBOARD_SETTINGS } from './dashboard.constants.js';
import { DashboardFeed, type DashboardMessage, type DashboardSnapshot } from './dashboard.feed.js';
import type { DashboardSettings } from './dashboard.options.js';
import { DASHBOARD_PAGE, DASHBOARD_PAGE_CSP } from './dashboard.page.js';

/** What each `POST <path>/api/loops/:name/<action>` calls on the registry. */
const ACTIONS = {
  trigger: (registry: PollingRegistry, name: string) => registry.trigger(name),
  pause: (registry: PollingRegistry, name: string) => registry.stop(name),
  resume: (registry: PollingRegistry, name: string) => registry.start(name),
} as const;

/** What a `POST` answers once the registry call has resolved. */
export interface DashboardActionResult {
  name: string;
  action: keyof typeof ACTIONS;
  done: true;
}

/**
 * Refuses a `POST` the dashboard must not act on: any while read-only; any without the custom
 * header (a cross-site form cannot send one); any whose `Origin`, when sent, is not the `Host`.
 */
function checkWritable(
  settings: DashboardSettings,
  headers: Record<string, string | string[] | undefined>,
): void {
  if (settings.readOnly)
    throw new ForbiddenException('The wait dashboard is read-only (readOnly: true)');
  if (headers[DASHBOARD_CSRF_HEADER] !== '1')
    throw new ForbiddenException(`The wait dashboard needs the ${DASHBOARD_CSRF_HEADER}: 1 header`);
  const origin = headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(String(origin)).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== headers.host)
    throw new ForbiddenException('The wait dashboard refuses cross-origin requests');
}

/**
 * @internal The dashboard's controller at `settings.path`: a class made per `forRoot()` because
 * Nest reads a controller's path (and guards) from its decorators, which this one applies with
 * the options' values. A plain path on `@Controller` routes the same on Express and Fastify.
 */
export function dashboardController(settings: DashboardSettings): Type<unknown> {
  class WaitDashboardController {
    constructor(
      @Inject(PollingRegistry) private readonly registry: PollingRegistry,
      @Inject(DashboardFeed) private readonly feed: DashboardFeed,
      @Inject(DASHBOARD_SETTINGS) private readonly options: DashboardSettings,
    ) {}

    @Get()
    @Header('Content-Type', 'text/html; charset=utf-8')
    @Header('Content-Security-Policy', DASHBOARD_PAGE_CSP)
    @Header('X-Content-Type-Options', 'nosniff')
    @Header('Cache-Control', 'no-store')
    page(): string {
      return DASHBOARD_PAGE;
    }

    @Get('api/state')
    @Header('Cache-Control', 'no-store')
    state(): Promise<DashboardSnapshot> {
      return this.feed.snapshot();
    }

    @Sse('api/events')
    events(
      // Passthrough: Nest still writes the stream; the feed only watches the response end.
      @Res({ passthrough: true }) response: ServerResponse | { raw: ServerResponse },
    ): Observable<DashboardMessage> {
      // Express hands the Node response itself, Fastify its reply with the response as `raw`.
      return this.feed.stream('raw' in response ? response.raw : response);
    }

    @Post('api/loops/:name/:action')
    @HttpCode(200)
    async act(
      @Param('name') name: string,
      @Param('action') action: string,
      @Headers() headers: Record<string, string | string[] | undefined>,
    ): Promise<DashboardActionResult> {
      checkWritable(this.options, headers);
      if (!Object.hasOwn(ACTIONS, action))
        throw new NotFoundException(`No dashboard action is named "${action}"`);
      if (!this.registry.has(name)) throw new NotFoundException(`No loop is named "${name}"`);
      const verb = action as keyof typeof ACTIONS;
      try {
        // Awaited: the answer says the registry did it (for trigger, that the run has settled).
        await ACTIONS[verb](this.registry, name);
      } catch (error) {
        // The registry refused (a loop paused cluster-wide, a store out of reach, shutdown):
        // 409 with its message, which names the loop, rather than an opaque 500.
        throw new ConflictException(describe(error));
      }
      return { name, action: verb, done: true };
    }
  }
  Controller(settings.path)(WaitDashboardController);
  if (settings.guard !== undefined) UseGuards(settings.guard)(WaitDashboardController);
  return WaitDashboardController;
}
