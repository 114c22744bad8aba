import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DASHBOARD_PAGE } from '../../lib/dashboard/dashboard.page.js';

/* The README's dashboard screenshot is of the page the package serves today. */

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFile(fileURLToPath(new URL(path, root)));
const RETAKE = 'run npm run docs:dashboard';

it('the README shows the screenshot', async () => {
  const readme = (await read('README.md')).toString('utf8');
  expect(readme).toContain('](docs/dashboard.png)');
});

it('docs/dashboard.png is a PNG, 1200 pixels wide', async () => {
  const png = await read('docs/dashboard.png');
  // The signature, then the IHDR chunk first, whose data starts with the width (big-endian).
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  expect(png.readUInt32BE(16)).toBe(1200);
});

it('docs/dashboard.png was taken of the current page', async () => {
  const made = JSON.parse((await read('docs/dashboard.json')).toString('utf8')) as {
    page?: unknown;
    made?: unknown;
    chromium?: unknown;
  };
  expect(typeof made.made === 'string' && !Number.isNaN(Date.parse(made.made))).toBe(true);
  expect(typeof made.chromium).toBe('string');
  const page = createHash('sha256').update(DASHBOARD_PAGE).digest('hex');
  if (made.page !== page)
    throw new Error(
      `docs/dashboard.png shows another page (sha256 ${String(made.page)}, the page is ${page} now): ${RETAKE}`,
    );
});
