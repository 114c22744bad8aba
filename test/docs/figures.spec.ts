import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { jitterUntil, nonSlidingUntil, until } from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { recordTimeline, renderTimeline } from '../../scripts/timeline.mjs';

/* The README's timeline figure is a run of the engine, and the checked-in SVG is today's. */

const root = new URL('../../', import.meta.url);

it('records the three loops as the README describes them', async () => {
  const rows = await recordTimeline({ FakeClock, until, nonSlidingUntil, jitterUntil });
  const starts = rows.map((row) => row.runs.map(([start]) => Math.round(start)));
  // Sliding: 300 + 1000, 500 + 1000, then the 1400 ms run + 1000.
  expect(starts[0]).toEqual([0, 1300, 2800, 5200]);
  // Non-sliding: every 1 s; the 1400 ms run at 2 s is followed at once, at 3.4 s.
  expect(starts[1]).toEqual([0, 1000, 2000, 3400, 4400, 5400]);
  // Jitter: each wait between 1 s and 1.5 s after the run ended.
  const jittered = rows[2].runs;
  for (let i = 1; i < jittered.length; i++) {
    const wait = jittered[i][0] - jittered[i - 1][1];
    expect(wait).toBeGreaterThanOrEqual(1000);
    expect(wait).toBeLessThan(1500);
  }
});

it('docs/timeline.svg is what `npm run docs:figures` draws from the engine today', async () => {
  const rows = await recordTimeline({ FakeClock, until, nonSlidingUntil, jitterUntil });
  const checkedIn = await readFile(fileURLToPath(new URL('docs/timeline.svg', root)), 'utf8');
  expect(checkedIn).toBe(renderTimeline(rows));
});

it('the README shows the figure', async () => {
  const readme = await readFile(fileURLToPath(new URL('README.md', root)), 'utf8');
  expect(readme).toContain('](docs/timeline.svg)');
});
