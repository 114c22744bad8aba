// The README's timeline figure: three loops of the engine, each run on a FakeClock with the same
// run durations, recorded and drawn as an SVG. Pure: the engine comes in as a parameter, so
// `npm run docs:figures` draws it from dist/ and a test redraws it from lib/ to check that the
// checked-in figure is what the engine does today.

/** How long each run takes, in ms, by iteration: the third overruns the 1 s period. */
const RUN_MS = [300, 500, 1400, 300, 400, 300, 500, 300];
const PERIOD = 1000;
const HORIZON = 6000;

/** A seeded PRNG (mulberry32), so the jittered row is the same on every machine. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs one loop for HORIZON ms of fake time and returns its runs as [start, end] pairs.
 * @param {object} engine - { FakeClock }
 * @param {(fn: Function, stop: AbortSignal, clock: object) => Promise<void>} start
 */
async function record(engine, start) {
  const clock = new engine.FakeClock(0);
  const stop = new AbortController();
  const runs = [];
  const done = start(
    async ({ iteration }) => {
      const begun = clock.now();
      await new Promise((resolve) =>
        clock.setTimeout(resolve, RUN_MS[(iteration - 1) % RUN_MS.length]),
      );
      runs.push([begun, clock.now()]);
    },
    stop.signal,
    clock,
  );
  await clock.advance(HORIZON);
  stop.abort();
  await clock.runUntil(done);
  return runs.filter(([begun]) => begun < HORIZON);
}

/** The three rows, recorded from the engine. */
export async function recordTimeline(engine) {
  return [
    {
      label: 'until(fn, 1s)',
      note: 'sliding: each wait starts when a run ends',
      runs: await record(engine, (fn, signal, clock) =>
        engine.until(fn, PERIOD, signal, { clock }),
      ),
    },
    {
      label: 'nonSlidingUntil(fn, 1s)',
      note: "non-sliding: every 1 s from a run's start, at once after an overrun",
      runs: await record(engine, (fn, signal, clock) =>
        engine.nonSlidingUntil(fn, PERIOD, signal, { clock }),
      ),
    },
    {
      label: 'jitterUntil(fn, 1s, 0.5, true)',
      note: 'sliding, jitter 0.5: each wait drawn from [1 s, 1.5 s)',
      runs: await record(engine, (fn, signal, clock) =>
        engine.jitterUntil(fn, PERIOD, 0.5, true, signal, { clock, random: seeded(6) }),
      ),
    },
  ];
}

const n = (value) => Number(value.toFixed(1));

/** The SVG of recorded rows. */
export function renderTimeline(rows) {
  const left = 235;
  const scale = 0.085; // px per ms
  const rowHeight = 58;
  const top = 40;
  const width = left + n(7000 * scale) + 60;
  const height = top + rows.length * rowHeight + 30;
  const colors = ['#3b82f6', '#10b981', '#f59e0b'];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-sans-serif, system-ui, sans-serif" font-size="12">`,
    `<title>Runs of three loops with a 1 s period and the same run times (300, 500, 1400, 300, 400 ms, ...), recorded from the engine on a FakeClock</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="13" font-weight="bold" fill="#111827">Runs (boxes) and waits (gaps) over 6 s of fake time; period 1 s</text>`,
  ];
  const axisY = top + rows.length * rowHeight;
  for (let s = 0; s <= 7; s++) {
    const x = n(left + s * 1000 * scale);
    out.push(
      `<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${axisY}" stroke="#e5e7eb"/>`,
      `<text x="${x}" y="${axisY + 16}" text-anchor="middle" fill="#6b7280">${s}s</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    out.push(
      `<text x="10" y="${y + 26}" font-family="ui-monospace, monospace" fill="#111827">${row.label}</text>`,
    );
    row.runs.forEach(([begun, ended], k) => {
      const x = n(left + begun * scale);
      const w = n((ended - begun) * scale);
      out.push(
        `<rect x="${x}" y="${y + 8}" width="${w}" height="26" rx="3" fill="${colors[i % colors.length]}"><title>run ${k + 1}: ${Math.round(begun)} to ${Math.round(ended)} ms</title></rect>`,
        `<text x="${n(x + w / 2)}" y="${y + 25}" text-anchor="middle" fill="#ffffff">${k + 1}</text>`,
      );
    });
    out.push(
      `<text x="${left}" y="${y + 48}" font-size="10" fill="#374151">${row.note}; starts: ${row.runs.map(([b]) => Math.round(b)).join(', ')} ms</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
