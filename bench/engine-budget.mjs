// The engine's budget (issue "The engine and the foundation", section Cost), measured against a
// bare setTimeout chain. Run: `npm run build && node bench/engine-budget.mjs`. Each scenario runs
// in its own child process (node --expose-gc) so heaps do not mix. Prints Markdown.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const [, , scenario, impl, ...rest] = process.argv;

if (scenario === undefined) {
  const run = (...args) =>
    JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', self, ...args], { encoding: 'utf8' }),
    );
  const reps = Number(process.env.REPS ?? 3);
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const medianOf = (args, key) => median(Array.from({ length: reps }, () => run(...args)[key]));

  console.log('| scenario | bare setTimeout chain | nestjs-wait | ratio |');
  console.log('| --- | --- | --- | --- |');
  const heapChain = medianOf(['heap', 'chain'], 'bytesPerLoop');
  const heapWait = medianOf(['heap', 'until'], 'bytesPerLoop');
  console.log(
    `| heap per idle loop (100,000 x 1 h) | ${heapChain.toFixed(0)} B | ${heapWait.toFixed(0)} B | ${(heapWait / heapChain).toFixed(2)}x |`,
  );
  const cpuChain = Array.from({ length: reps }, () => run('cpu', 'chain'));
  const cpuWait = Array.from({ length: reps }, () => run('cpu', 'until'));
  const cpuC = median(cpuChain.map((r) => r.cpuMicrosPerRun));
  const cpuW = median(cpuWait.map((r) => r.cpuMicrosPerRun));
  console.log(
    `| CPU per run (10,000 x 10 ms, sync body) | ${cpuC.toFixed(2)} µs | ${cpuW.toFixed(2)} µs | ${(cpuW / cpuC).toFixed(2)}x |`,
  );
  const rateC = median(cpuChain.map((r) => r.rate));
  const rateW = median(cpuWait.map((r) => r.rate));
  console.log(
    `| runs achieved / ideal | ${(rateC * 100).toFixed(1)}% | ${(rateW * 100).toFixed(1)}% | |`,
  );
  const cpuAsyncChain = median(
    Array.from({ length: reps }, () => run('cpu', 'chain', 3, 'async').cpuMicrosPerRun),
  );
  const cpuAsyncWait = Array.from({ length: reps }, () => run('cpu', 'until', 3, 'async'));
  const cpuAW = median(cpuAsyncWait.map((r) => r.cpuMicrosPerRun));
  console.log(
    `| CPU per run (10,000 x 10 ms, async body) | ${cpuAsyncChain.toFixed(2)} µs | ${cpuAW.toFixed(2)} µs | ${(cpuAW / cpuAsyncChain).toFixed(2)}x |`,
  );
  console.log(
    `| runs achieved / ideal, async body | | ${(median(cpuAsyncWait.map((r) => r.rate)) * 100).toFixed(1)}% | |`,
  );
  const scale = run('scale', 'until');
  console.log(
    `| 100,000 loops on one signal: started, first runs done | | ${scale.startMs.toFixed(0)} ms | |`,
  );
  console.log(
    `| 100,000 loops on one signal: all settled after abort | | ${scale.settleMs.toFixed(0)} ms | |`,
  );
  console.log(`| warnings emitted | | ${scale.warnings} | |`);
  process.exit(0);
}

// The package entry loads NestJS (the WaitModule layer); BENCH_ENTRY=engine measures the engine
// alone, as the first figures of this file were. Child processes inherit the variable.
const entry = process.env.BENCH_ENTRY === 'engine' ? '../dist/wait/index.js' : '../dist/index.js';
const { until } = await import(entry);
const gc = globalThis.gc;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

if (scenario === 'heap') {
  const n = 100_000;
  const period = 3_600_000;
  const ac = new AbortController();
  const keep = [];
  const before = heap();
  for (let i = 0; i < n; i++) {
    if (impl === 'chain') {
      let t = setTimeout(function tick() {
        t = setTimeout(tick, period);
      }, period);
      keep.push(() => clearTimeout(t));
    } else {
      until(() => {}, period, ac.signal);
    }
  }
  await new Promise((r) => setTimeout(r, 50)); // first runs (in microtasks) done
  const after = heap();
  // The chain needs its closures kept to be cancellable; do not count the array holding them.
  const bytesPerLoop = (after - before - (impl === 'chain' ? n * 8 : 0)) / n;
  console.log(JSON.stringify({ bytesPerLoop }));
  ac.abort();
  keep.forEach((stop) => stop());
} else if (scenario === 'cpu') {
  const n = 10_000;
  const period = 10;
  const seconds = Number(rest[0] ?? 3);
  let runs = 0;
  const body =
    rest[1] === 'async'
      ? async () => {
          runs++;
        }
      : () => {
          runs++;
        };
  const ac = new AbortController();
  const timers = [];
  for (let i = 0; i < n; i++) {
    if (impl === 'chain') {
      const slot = i;
      timers[slot] = setTimeout(function tick() {
        body();
        timers[slot] = setTimeout(tick, period);
      }, period);
    } else {
      until(body, period, ac.signal);
    }
  }
  await new Promise((r) => setTimeout(r, 500)); // warm up
  const runs0 = runs;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const elapsed = performance.now() - t0;
  const done = runs - runs0;
  ac.abort();
  timers.forEach((t) => clearTimeout(t));
  console.log(
    JSON.stringify({
      cpuMicrosPerRun: (cpu.user + cpu.system) / done,
      rate: done / ((n * elapsed) / period),
    }),
  );
} else if (scenario === 'scale') {
  let warnings = 0;
  process.on('warning', () => warnings++);
  const n = 100_000;
  const ac = new AbortController();
  const t0 = performance.now();
  const all = [];
  let firstRuns = 0;
  for (let i = 0; i < n; i++) all.push(until(() => void firstRuns++, 3_600_000, ac.signal));
  while (firstRuns < n) await new Promise((r) => setImmediate(r));
  const startMs = performance.now() - t0; // every loop started and through its first run
  await new Promise((r) => setTimeout(r, 50));
  const t1 = performance.now();
  ac.abort();
  await Promise.all(all);
  const settleMs = performance.now() - t1;
  console.log(JSON.stringify({ startMs, settleMs, warnings }));
}
