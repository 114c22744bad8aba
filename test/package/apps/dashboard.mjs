// A throwaway ESM app (copied into an app that installed the packed tarball): WaitModule and
// nestjs-wait/dashboard on Express, listening on a free port. It fetches the page, the state
// and the first server-sent events, then closes with the stream still open.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PollingRegistry, WaitModule } from 'nestjs-wait';
import { WaitDashboardModule } from 'nestjs-wait/dashboard';

class AppModule {}
Module({ imports: [WaitModule.forRoot(), WaitDashboardModule.forRoot({ readOnly: false })] })(
  AppModule,
);

const app = await NestFactory.create(AppModule, { logger: ['warn', 'error'] });
await app.listen(0, '127.0.0.1');
const registry = app.get(PollingRegistry);
registry.add('gc', () => undefined, { period: '1h' });
const { port } = app.getHttpServer().address();
const base = `http://127.0.0.1:${port}/wait`;

const page = await fetch(base);
const html = await page.text();
const state = await (await fetch(`${base}/api/state`)).json();
const refused = (await fetch(`${base}/api/loops/gc/trigger`, { method: 'POST' })).status;
const triggered = (
  await fetch(`${base}/api/loops/gc/trigger`, {
    method: 'POST',
    headers: { 'X-Wait-Dashboard': '1' },
  })
).status;

// The stream's first events: the recent runs, then the state.
const stream = await fetch(`${base}/api/events`);
const reader = stream.body.pipeThrough(new TextDecoderStream()).getReader();
let text = '';
let events = [];
while (events.length < 2) {
  const { value, done } = await reader.read();
  if (done) break;
  text += value;
  events = [...text.matchAll(/^event: (\w+)$/gm)].map((match) => match[1]);
}
const closing = Date.now();
await app.close();
const closedIn = Date.now() - closing;
console.log(
  JSON.stringify({
    page: page.status,
    csp: page.headers.get('content-security-policy')?.startsWith("default-src 'none'"),
    html: html.includes('nestjs-wait loops'),
    loops: state.loops.map((loop) => loop.name),
    runs: state.runs.length,
    refused,
    triggered,
    events: events.slice(0, 2),
    closedIn,
  }),
);
// No process.exit(): the process must end by itself, the stream's socket closed.
