/** @internal The injection token of the dashboard's checked options. */
export const DASHBOARD_SETTINGS = Symbol('nestjs-wait:dashboard-settings');

/**
 * The header every dashboard `POST` must carry (value `1`). A cross-site HTML form cannot set a
 * custom header, and a cross-site `fetch` that does triggers a CORS preflight the app does not
 * answer, so its presence shows the request came from a same-origin script.
 */
export const DASHBOARD_CSRF_HEADER = 'x-wait-dashboard';

/** How often the shared feed re-reads `list({ cluster: true })` while a client listens: 1 s. */
export const DASHBOARD_REFRESH_MS = 1000;
