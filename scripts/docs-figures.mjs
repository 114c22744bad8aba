// `npm run docs:figures`: draws docs/timeline.svg from a real run of the built engine (dist/).
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { FakeClock } from '../dist/testing/index.js';
import { jitterUntil, nonSlidingUntil, until } from '../dist/index.js';
import { recordTimeline, renderTimeline } from './timeline.mjs';

const target = fileURLToPath(new URL('../docs/timeline.svg', import.meta.url));
const rows = await recordTimeline({ FakeClock, until, nonSlidingUntil, jitterUntil });
await writeFile(target, renderTimeline(rows));
for (const row of rows)
  console.log(`${row.label}: starts ${row.runs.map(([b]) => Math.round(b)).join(', ')} ms`);
console.log(`wrote ${target}`);
