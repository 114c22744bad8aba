// One scenario for one implementation, in a process of its own (started by bench/run.mjs as
// `node --expose-gc bench/child.mjs <scenario> <impl> '<json params>'`). Prints one JSON line.
const [, , scenario, impl, params = '{}'] = process.argv;
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const { run } = await import(`./scenarios/${scenario}.mjs`);
await run(impl, JSON.parse(params));
// Baselines may leave handles behind (measured by the shutdown scenario): do not wait for them.
process.exit(0);
