import fs from 'node:fs';
const snap = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const m = snap.snapshot.meta; const nf = m.node_fields.length, ef = m.edge_fields.length;
const types = m.node_types[0], etypes = m.edge_types[0];
const nodes = snap.nodes, edges = snap.edges, S = snap.strings;
const ti = m.node_fields.indexOf('type'), ni = m.node_fields.indexOf('name'), eci = m.node_fields.indexOf('edge_count');
const eti = m.edge_fields.indexOf('type'), eni = m.edge_fields.indexOf('name_or_index'), etoi = m.edge_fields.indexOf('to_node');
const agg = new Map(); let e = 0;
const target = process.argv[3] ?? 'heap number';
for (let i = 0; i < nodes.length; i += nf) {
  const parent = S[nodes[i + ni]];
  for (let k = 0; k < nodes[i + eci]; k++, e += ef) {
    const to = edges[e + etoi];
    if (S[nodes[to + ni]] !== target) continue;
    const et = etypes[edges[e + eti]];
    const name = et === 'element' || et === 'hidden' ? '#' : S[edges[e + eni]];
    const key = parent + '.' + name;
    agg.set(key, (agg.get(key) ?? 0) + 1);
  }
}
console.log([...agg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12));
