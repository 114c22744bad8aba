import v8 from 'node:v8';
import fs from 'node:fs';
const which = process.argv[2];
const N = 20000;
const wait = await import('/work/main/dist/index.js');
let stop;
if (which === 'wait') {
  const ac = new AbortController(); stop = () => ac.abort();
  for (let i = 0; i < N; i++) void wait.until(() => {}, 3_600_000, ac.signal);
} else {
  const { NestFactory } = await import('@nestjs/core');
  const { Module } = await import('@nestjs/common');
  class M {}
  Module({ imports: [wait.WaitModule.forRoot()] })(M);
  const app = await NestFactory.createApplicationContext(M, { logger: ['error'] });
  const registry = app.get(wait.PollingRegistry);
  for (let i = 0; i < N; i++) registry.add(`loop${i}`, () => {}, { period: 3_600_000 });
  stop = () => app.close();
}
await new Promise((r) => setTimeout(r, 200));
const file = v8.writeHeapSnapshot('/tmp/hs/' + which + '.heapsnapshot');
const snap = JSON.parse(fs.readFileSync(file, 'utf8'));
const f = snap.snapshot.meta.node_fields; const nf = f.length;
const types = snap.snapshot.meta.node_types[0];
const ti = f.indexOf('type'), ni = f.indexOf('name'), si = f.indexOf('self_size');
const agg = new Map();
const nodes = snap.nodes;
for (let i = 0; i < nodes.length; i += nf) {
  const key = types[nodes[i + ti]] + ':' + (types[nodes[i+ti]]==='string'||types[nodes[i+ti]]==='concatenated string' ? '' : snap.strings[nodes[i + ni]]);
  const a = agg.get(key) ?? { count: 0, size: 0 };
  a.count++; a.size += nodes[i + si];
  agg.set(key, a);
}
const rows = [...agg.entries()].filter(([, a]) => a.count >= N * 0.9).sort((x, y) => y[1].size - x[1].size);
for (const [k, a] of rows.slice(0, 25)) console.log(k.padEnd(50), a.count, (a.size / N).toFixed(1));
await stop();
process.exit(0);
