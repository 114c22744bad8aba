// `npm run bench:dashboard`: what the dashboard's page costs the browser with many busy loops.
// One app (this process) with N loops running every P ms (jitter 0.5, 50 ms runs), warmed up
// until their timelines hold about 30 runs each; the page opened in Debian's chromium (through
// playwright-core), then the main thread's time per second spent in script, layout and style
// recalculation, over 10 s (Chrome's Performance.getMetrics). Arguments: N P, or the default
// pairs 300 loops every 500 ms and 1,000 loops every 2 s.
import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CHROMIUM, hasChromium, INSTALL_CHROMIUM, launchChromium } from '../scripts/chromium.mjs';

const { WaitModule, PollingRegistry } = await import('../dist/index.js');
const { WaitDashboardModule } = await import('../dist/dashboard/index.js');

if (!hasChromium()) {
  console.error(`${CHROMIUM} is missing: ${INSTALL_CHROMIUM}`);
  process.exit(1);
}
const cases = process.argv[2]
  ? [[Number(process.argv[2]), Number(process.argv[3] ?? 500)]]
  : [
      [300, 500],
      [1000, 2000],
    ];

const browser = await launchChromium();
console.log('| loops | period | runs/s | script | layout | style | total (s per s) |');
console.log('|---|---|---|---|---|---|---|');
for (const [loops, period] of cases) {
  class BenchModule {}
  Module({ imports: [WaitModule.forRoot(), WaitDashboardModule.forRoot()] })(BenchModule);
  const app = await NestFactory.create(BenchModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const registry = app.get(PollingRegistry);
  for (let i = 0; i < loops; i++) {
    registry.add(`loop-${i}`, () => sleep(50), { period, jitter: 0.5 });
  }
  // About 30 runs each, so that every timeline is full (at most 30 s).
  await sleep(Math.min(30_000, period * 1.3 * 30));
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () =>
    Object.fromEntries(
      (await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]),
    );
  const { port } = app.getHttpServer().address();
  await page.goto(`http://127.0.0.1:${port}/wait`);
  await sleep(3000);
  const before = await metrics();
  const iterations = registry.list().reduce((sum, s) => sum + s.iterations, 0);
  await sleep(10_000);
  const after = await metrics();
  const ran = registry.list().reduce((sum, s) => sum + s.iterations, 0) - iterations;
  const per = (name) => (after[name] - before[name]) / 10;
  const [script, layout, style] = ['ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration'].map(
    per,
  );
  const row = [loops, `${period} ms`, Math.round(ran / 10), script, layout, style];
  row.push(script + layout + style);
  console.log(
    `| ${row.map((x) => (typeof x === 'number' && x < 10 ? x.toFixed(3) : x)).join(' | ')} |`,
  );
  await page.close();
  await app.close();
}
await browser.close();
