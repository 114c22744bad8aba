import type { CanActivate, Type } from '@nestjs/common';

/** Options of {@link WaitDashboardModule.forRoot}; every field has a default. */
export interface WaitDashboardOptions {
  /**
   * Where the dashboard is served: the page at `path`, its API under `path/api`. Must start with
   * `/`, have no trailing slash and hold only URL path characters (no `:`, `*` or `?`, which
   * routers read as patterns). Default `'/wait'`.
   */
  path?: string;
  /**
   * `true`: the page only shows, and every `POST` (trigger, pause, resume) answers 403 without
   * touching a loop. Default `true`: controlling loops from a browser is opted into.
   */
  readOnly?: boolean;
  /**
   * A Nest guard (a `CanActivate` class, resolved by Nest's injector, or an instance) applied to
   * every dashboard route, the page included; when it refuses, Nest answers 403. Default none:
   * the dashboard is as open as the app's other routes.
   */
  guard?: Type<CanActivate> | CanActivate;
}

/** The options once checked, with their defaults. */
export interface DashboardSettings {
  path: string;
  readOnly: boolean;
  guard: Type<CanActivate> | CanActivate | undefined;
}

const WHERE = 'WaitDashboardModule.forRoot()';
// Path segments of letters, digits and `-._~`: nothing a router reads as a pattern.
const PATH = /^(\/[A-Za-z0-9\-._~]+)+$/;

function shown(value: unknown): string {
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Checks the options, throwing a `TypeError` that names the bad value and `forRoot()`. */
export function checkDashboardOptions(
  options: WaitDashboardOptions | undefined,
): DashboardSettings {
  if (options !== undefined && (typeof options !== 'object' || options === null))
    throw new TypeError(`${WHERE}: options must be an object, got ${shown(options)}`);
  const { path = '/wait', readOnly = true, guard } = options ?? {};
  if (typeof path !== 'string' || !PATH.test(path))
    throw new TypeError(
      `${WHERE}: path must start with "/", have no trailing slash and hold only letters, digits and "-._~" in its segments, got ${shown(path)}`,
    );
  if (typeof readOnly !== 'boolean')
    throw new TypeError(`${WHERE}: readOnly must be a boolean, got ${shown(readOnly)}`);
  const isInstance =
    typeof guard === 'object' &&
    guard !== null &&
    typeof (guard as Partial<CanActivate>).canActivate === 'function';
  const isClass =
    typeof guard === 'function' &&
    typeof (guard as { prototype?: Partial<CanActivate> }).prototype?.canActivate === 'function';
  if (guard !== undefined && !isInstance && !isClass)
    throw new TypeError(
      `${WHERE}: guard must be a CanActivate class or instance (with a canActivate() method), got ${shown(guard)}`,
    );
  return { path, readOnly, guard };
}
