// Debian's chromium, as the dashboard's browser tests, `npm run docs:dashboard` and
// `npm run bench:dashboard` drive it through playwright-core, which is only ever given this
// browser and downloads none.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** Where Debian's package puts it. */
export const CHROMIUM = '/usr/bin/chromium';

/** How to get it, for the messages of those that need it. */
export const INSTALL_CHROMIUM = 'install it with `apt-get install -y chromium` (.ci/run does)';

/** Whether it is installed. */
export const hasChromium = () => existsSync(CHROMIUM);

/** Starts it headless, with nothing of its own reaching the network. */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}
