// `npm run bench [-- --quick] [-- --only=cpu,memory] [-- --reps=N]`: every scenario of the
// benchmark issue for nestjs-wait and each baseline, each run in a child process of its own
// (node --expose-gc bench/child.mjs), implementations alternating within each repetition. Prints
// one Markdown table per scenario (medians, ratios to the bare baseline) and the targets, and
// writes the same figures to bench/results.json (bench/results.quick.json with --quick).
// BENCH_ENTRY=engine makes the in-process scenarios import the engine alone (dist/wait).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { LABELS } from './lib/impls.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const only = flag('only')?.split(',');
const child = fileURLToPath(new URL('./child.mjs', import.meta.url));
const out = fileURLToPath(
  new URL(quick ? './results.quick.json' : './results.json', import.meta.url),
);

// Sizes are the issue's in both modes; --quick shortens measuring windows and repetitions.
// Repetitions: the short scenarios (memory, shutdown, bootstrap: about a second a process) get
// more, since one process's figure moves with whatever else the machine runs.
const REPS = Number(flag('reps') ?? (quick ? 1 : 3));
const SHORT_REPS = Number(flag('reps') ?? (quick ? 1 : 5));
const SHORT = new Set(['memory', 'shutdown', 'bootstrap']);
const CPU = quick ? { seconds: 0.3, warmup: 0.2 } : { seconds: 2, warmup: 1 };
// The window must hold at least one 1 s period after the start's burst of first runs.
const JITTER = quick ? { seconds: 1, warmup: 1 } : { seconds: 3, warmup: 2 };
const CADENCE_RUNS = quick ? 50 : 1000;
// The cluster: short timings so that a window is short; each replica process boots 100 to 10,000
// loops, so one repetition of the three sizes takes about a minute.
const CLUSTER = {
  timings: { leaseDuration: 1000, renewDeadline: 600, retryPeriod: 200 },
  period: 1000,
  seconds: quick ? 2 : 4,
  reps: Number(flag('reps') ?? (quick ? 1 : 2)),
  cost: quick ? { seconds: 1, warmup: 1.5 } : { seconds: 3, warmup: 2 },
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

function runChild(scenario, impl, params) {
  const stdout = execFileSync(
    process.execPath,
    ['--expose-gc', child, scenario, impl, JSON.stringify(params)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

/** Runs `cases` ({ key, impl, params }) a few times, rotating their order; medians per key. */
function measure(scenario, cases, reps = SHORT.has(scenario) ? SHORT_REPS : REPS) {
  const samples = Object.fromEntries(cases.map((c) => [c.key, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + rep) % cases.length];
      process.stderr.write(`  ${scenario} ${c.key} (${rep + 1}/${reps})\n`);
      samples[c.key].push(runChild(scenario, c.impl, c.params));
    }
  }
  const medians = {};
  for (const [key, list] of Object.entries(samples)) {
    medians[key] = {};
    for (const metric of Object.keys(list[0])) {
      if (typeof list[0][metric] === 'number')
        medians[key][metric] = median(list.map((r) => r[metric]));
    }
  }
  return { samples, medians };
}

const fmt = (x, digits = 2) => (x === undefined ? '' : x.toFixed(digits));
const ratio = (x, base) => `${(x / base).toFixed(2)}x`;
const pct = (x) => `${(x * 100).toFixed(1)}%`;
const table = (head, rows) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`]
    .concat(rows.map((r) => `| ${r.join(' | ')} |`))
    .join('\n');

const results = {
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  cpu: os.cpus()[0]?.model,
  cores: os.availableParallelism(),
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  loadBefore: os.loadavg(),
  quick,
  reps: {
    cpu: REPS,
    jitter: REPS,
    cadence: REPS,
    memory: SHORT_REPS,
    shutdown: SHORT_REPS,
    bootstrap: SHORT_REPS,
    cluster: CLUSTER.reps,
  },
  entry: process.env.BENCH_ENTRY === 'engine' ? 'engine (dist/wait)' : 'package (dist/index)',
  scenarios: {},
  targets: [],
};
const output = [];
const print = (text) => {
  output.push(text);
  console.log(text);
};
const target = (name, value, met) => results.targets.push({ name, value, met });
const want = (s) => only === undefined || only.includes(s);

const ALL = ['chain', 'setInterval', 'naive', 'toad', 'schedule', 'wait', 'wait-module'];
const t0 = performance.now();
print(
  `Node ${results.node}, ${results.cpu}, ${results.cores} cores; load ${results.loadBefore.map((l) => l.toFixed(2)).join(' ')}; ` +
    (quick
      ? 'quick: one run of each, '
      : `medians of ${REPS} runs (${SHORT_REPS} for memory, shutdown and bootstrap, ${CLUSTER.reps} for the cluster), `) +
    'each in its own process.\n',
);

if (want('cpu')) {
  const cases = ALL.flatMap((impl) =>
    ['sync', 'async'].map((body) => ({ key: `${impl}/${body}`, impl, params: { ...CPU, body } })),
  );
  const r = measure('cpu', cases);
  results.scenarios.cpu = r;
  const m = r.medians;
  const base = (body) => m[`chain/${body}`].cpuMicrosPerRun;
  print('### 1. CPU per run: 10,000 loops x 10 ms, empty body\n');
  print(
    table(
      [
        'implementation',
        'sync: µs/run',
        'ratio',
        'runs / ideal',
        'async: µs/run',
        'ratio',
        'runs / ideal',
      ],
      ALL.map((impl) => {
        const s = m[`${impl}/sync`];
        const a = m[`${impl}/async`];
        return [
          LABELS[impl],
          fmt(s.cpuMicrosPerRun),
          ratio(s.cpuMicrosPerRun, base('sync')),
          pct(s.rate),
          fmt(a.cpuMicrosPerRun),
          ratio(a.cpuMicrosPerRun, base('async')),
          pct(a.rate),
        ];
      }),
    ) + '\n',
  );
  print(
    "Sliding loops (the chain, the naive loop, nestjs-wait) count each wait from the end of a run, so their ideal is a little under 100%. The naive loop's cost is Node 20's `timers/promises` `setTimeout` with a `signal` (about 12 µs a call here; 1 µs without the signal).\n",
  );
  const ws = m['wait/sync'];
  const wa = m['wait/async'];
  target(
    'CPU per run, sync body: <= 1.5x the bare chain',
    ratio(ws.cpuMicrosPerRun, base('sync')),
    ws.cpuMicrosPerRun <= 1.5 * base('sync'),
  );
  target(
    'CPU per run, async body: <= 1.5x the chain with the same body',
    ratio(wa.cpuMicrosPerRun, base('async')),
    wa.cpuMicrosPerRun <= 1.5 * base('async'),
  );
  // Relative to the chain, which keeps up (95-98% here: a sliding wait counts from the end of a
  // run); a loop that cannot keep up falls far under it (the naive loop: about 10%).
  const kept = Math.min(ws.rate / m['chain/sync'].rate, wa.rate / m['chain/async'].rate);
  target(
    'no falling behind at 10,000 x 10 ms: runs / ideal within 5% of the chain',
    `${pct(ws.rate)} sync, ${pct(wa.rate)} async (chain ${pct(m['chain/sync'].rate)}, ${pct(m['chain/async'].rate)})`,
    kept >= 0.95,
  );
  // The registry loop (what `@Until` runs) against @nestjs/schedule's interval, and both loops of
  // nestjs-wait against the chain's rate (issue 13).
  const rs = m['wait-module/sync'];
  const ra = m['wait-module/async'];
  const ss = m['schedule/sync'];
  const sa = m['schedule/async'];
  target(
    "registry CPU per run <= @nestjs/schedule's (sync, async)",
    `${fmt(rs.cpuMicrosPerRun)} vs ${fmt(ss.cpuMicrosPerRun)}, ${fmt(ra.cpuMicrosPerRun)} vs ${fmt(sa.cpuMicrosPerRun)} µs`,
    rs.cpuMicrosPerRun <= ss.cpuMicrosPerRun && ra.cpuMicrosPerRun <= sa.cpuMicrosPerRun,
  );
  const points = (impl, body) => 100 * (m[`chain/${body}`].rate - m[`${impl}/${body}`].rate);
  for (const impl of ['wait', 'wait-module']) {
    const behind = Math.max(points(impl, 'sync'), points(impl, 'async'));
    target(
      `${impl === 'wait' ? 'engine' : 'registry'} runs / ideal within 3 points of the chain`,
      `${fmt(points(impl, 'sync'), 1)} sync, ${fmt(points(impl, 'async'), 1)} async points below`,
      behind <= 3,
    );
  }
}

if (want('memory')) {
  const r = measure(
    'memory',
    ALL.map((impl) => ({ key: impl, impl, params: {} })),
  );
  results.scenarios.memory = r;
  const m = r.medians;
  print('### 2. Memory per idle loop: 100,000 loops x 1 h, after GC\n');
  print(
    table(
      ['implementation', 'heap B/loop', 'ratio', 'RSS B/loop', 'ratio'],
      ALL.map((impl) => [
        LABELS[impl],
        fmt(m[impl].heapPerLoop, 0),
        ratio(m[impl].heapPerLoop, m.chain.heapPerLoop),
        fmt(m[impl].rssPerLoop, 0),
        ratio(m[impl].rssPerLoop, m.chain.rssPerLoop),
      ]),
    ) + '\n',
  );
  target(
    'heap per idle loop: <= 2x the bare chain',
    ratio(m.wait.heapPerLoop, m.chain.heapPerLoop),
    m.wait.heapPerLoop <= 2 * m.chain.heapPerLoop,
  );
  target(
    'registry heap per idle loop: <= 2x the bare chain',
    ratio(m['wait-module'].heapPerLoop, m.chain.heapPerLoop),
    m['wait-module'].heapPerLoop <= 2 * m.chain.heapPerLoop,
  );
}

if (want('jitter')) {
  const impls = ['chain', 'naive', 'wait', 'wait-module'];
  const r = measure(
    'jitter',
    impls.map((impl) => ({ key: impl, impl, params: JITTER })),
  );
  results.scenarios.jitter = r;
  const m = r.medians;
  print('### 3. Jitter at scale: 100,000 loops x 1 s, jitter 0.5\n');
  print(
    table(
      ['implementation', 'µs/run', 'ratio', 'runs/s'],
      impls.map((impl) => [
        LABELS[impl],
        fmt(m[impl].cpuMicrosPerRun),
        ratio(m[impl].cpuMicrosPerRun, m.chain.cpuMicrosPerRun),
        fmt(m[impl].runsPerSecond, 0),
      ]),
    ) + '\n',
  );
  print(
    '`setInterval`, toad-scheduler and @nestjs/schedule have no jitter; the chain and the naive loop draw it by hand.\n',
  );
}

if (want('cadence')) {
  const cases = [
    { key: 'wait/non-sliding', impl: 'wait', params: { runs: CADENCE_RUNS, sliding: false } },
    { key: 'wait/sliding', impl: 'wait', params: { runs: CADENCE_RUNS, sliding: true } },
    { key: 'setInterval', impl: 'setInterval', params: { runs: CADENCE_RUNS } },
    { key: 'chain', impl: 'chain', params: { runs: CADENCE_RUNS } },
  ];
  const r = measure('cadence', cases);
  results.scenarios.cadence = r;
  const m = r.medians;
  const names = {
    'wait/non-sliding': 'nestjs-wait `nonSlidingUntil()`',
    'wait/sliding': 'nestjs-wait `until()` (sliding)',
    setInterval: LABELS.setInterval,
    chain: LABELS.chain + ' (sliding)',
  };
  print(`### 4. Cadence: one loop at 10 ms, ${CADENCE_RUNS} runs\n`);
  print(
    table(
      ['implementation', 'drift over all runs', 'per run', 'median gap', 'p99 gap'],
      cases.map(({ key }) => [
        names[key],
        `${fmt(m[key].drift)} ms`,
        `${fmt(m[key].driftPerRun, 3)} ms`,
        `${fmt(m[key].medianGap)} ms`,
        `${fmt(m[key].p99Gap)} ms`,
      ]),
    ) + '\n',
  );
  print('Drift: the start of the last run against first start + runs x period.\n');
  const d = m['wait/non-sliding'].drift;
  target(
    `cadence: drift over ${CADENCE_RUNS} non-sliding runs under one period (10 ms)`,
    `${fmt(d)} ms`,
    Math.abs(d) < 10,
  );
}

if (want('shutdown')) {
  const impls = ['chain', 'setInterval', 'naive', 'toad', 'schedule', 'wait-module'];
  const cases = impls.flatMap((impl) => [
    { key: `${impl}/idle`, impl, params: { n: 100_000 } },
    { key: `${impl}/inflight`, impl, params: { inFlight: 1000 } },
  ]);
  cases.push({ key: 'abort-floor', impl: 'abort-floor', params: { n: 100_000 } });
  const r = measure('shutdown', cases);
  results.scenarios.shutdown = r;
  const m = r.medians;
  const base = m['chain/idle'].closeMs;
  print('### 5. Shutdown: `app.close()`\n');
  print(
    table(
      [
        'implementation',
        '100,000 idle loops',
        'ratio',
        'handles left',
        '1,000 runs in flight',
        'handles left',
      ],
      impls
        .map((impl) => [
          LABELS[impl],
          `${fmt(m[`${impl}/idle`].closeMs, 0)} ms`,
          ratio(m[`${impl}/idle`].closeMs, base),
          fmt(m[`${impl}/idle`].handlesLeft, 0),
          `${fmt(m[`${impl}/inflight`].closeMs, 0)} ms`,
          fmt(m[`${impl}/inflight`].handlesLeft, 0),
        ])
        .concat([
          [
            'floor: 100,000 `AbortController.abort()` calls, no listener, no app',
            `${fmt(m['abort-floor'].closeMs, 0)} ms`,
            ratio(m['abort-floor'].closeMs, base),
            '',
            '',
            '',
          ],
        ]),
    ) + '\n',
  );
  print(
    "Baselines stop in a provider's shutdown hook written by hand (clear the timers, abort a shared `AbortController` the runs honour); only the naive loop and nestjs-wait wait for the runs in flight.\n",
  );
  const w = m['wait-module/idle'];
  const wi = m['wait-module/inflight'];
  target('shutdown: 100,000 idle loops under 200 ms', `${fmt(w.closeMs, 0)} ms`, w.closeMs < 200);
  target(
    'shutdown: zero open handles',
    `${w.handlesLeft} idle, ${wi.handlesLeft} in flight`,
    w.handlesLeft === 0 && wi.handlesLeft === 0,
  );
}

if (want('bootstrap')) {
  const impls = ['bare', 'schedule', 'wait', 'wait-delayed'];
  const r = measure(
    'bootstrap',
    impls.map((impl) => ({ key: impl, impl, params: {} })),
  );
  results.scenarios.bootstrap = r;
  const m = r.medians;
  const names = {
    bare: 'no scheduler (plain methods)',
    schedule: "@nestjs/schedule's `@Interval`",
    wait: 'nestjs-wait `@Until(period, 0, false)`: first runs at once',
    'wait-delayed': 'nestjs-wait `@Until` with `initialDelay` = period, as `@Interval`',
  };
  print('### 6. Bootstrap: 1,000 providers x 10 decorated methods (10,000 loops, 1 h)\n');
  print(
    table(
      [
        'implementation',
        'create to all loops started',
        'ratio to @nestjs/schedule',
        'over the bare app',
      ],
      impls.map((impl) => [
        names[impl],
        `${fmt(m[impl].ms, 0)} ms`,
        ratio(m[impl].ms, m.schedule.ms),
        `+${fmt(m[impl].ms - m.bare.ms, 0)} ms`,
      ]),
    ) + '\n',
  );
  target(
    'bootstrap: no slower than @nestjs/schedule (first runs at once / after a period)',
    `${ratio(m.wait.ms, m.schedule.ms)} / ${ratio(m['wait-delayed'].ms, m.schedule.ms)}`,
    m['wait-delayed'].ms <= m.schedule.ms,
  );
}

if (want('cluster')) {
  const { timings, period } = CLUSTER;
  const { leaseDuration, renewDeadline, retryPeriod } = timings;
  const sizes = [100, 1000, 10_000];
  const placements = ['none', 'every', 'spread'];
  const cases = placements
    .map((placement) => ({
      key: `memory/${placement}`,
      impl: 'memory',
      params: { placement, period, timings, ...CLUSTER.cost },
    }))
    .concat(
      sizes.map((n) => ({
        key: `redis/${n}`,
        impl: 'redis',
        params: { n, period, timings, seconds: CLUSTER.seconds },
      })),
    );
  const r = measure('cluster', cases, CLUSTER.reps);
  results.scenarios.cluster = r;
  const m = r.medians;
  const skipped = r.samples['redis/100'].find((s) => s.skipped)?.skipped;
  const timing = `lease ${leaseDuration} ms, renew deadline ${renewDeadline} ms, retry period ${retryPeriod} ms`;
  const n = (k) => k.toLocaleString('en-US');
  if (skipped) {
    print(`### 7. Cluster on Redis: skipped (${skipped})\n`);
  } else {
    print(
      `### 7a. Cluster: store calls per replica in the steady state (3 replicas on Redis, each its own process; spread loops of ${period / 1000} s, cheap body; ${timing})\n`,
    );
    print(
      table(
        [
          'spread loops',
          'calls/s (mean / busiest replica)',
          'calls per retry period',
          'heartbeat/s',
          'elector/s',
          'other calls/s',
          'records / heartbeat',
          'bytes sent / heartbeat',
          'bytes received',
          'runs / ideal',
          'event loop delay p99 / max',
          'sessions lost',
        ],
        sizes.map((k) => {
          const x = m[`redis/${k}`];
          return [
            n(k),
            `${fmt(x.callsPerSecond)} / ${fmt(x.callsPerSecondMax)}`,
            fmt(x.callsPerRetry),
            fmt(x.heartbeatsPerSecond),
            fmt(x.electorPerSecond),
            fmt(x.otherPerSecond),
            fmt(x.recordsPerBeat, 0),
            fmt(x.bytesSentPerBeat, 0),
            fmt(x.bytesReceivedPerBeat, 0),
            pct(x.runsPerSecond),
            `${fmt(x.lagP99, 0)} / ${fmt(x.lagMax, 0)} ms`,
            fmt(x.sessionsLost, 0),
          ];
        }),
      ) + '\n',
    );
    // Bytes per heartbeat against the records it carried, from the smallest to the largest size.
    const lo = m['redis/100'];
    const hi = m['redis/10000'];
    const perRecord =
      (hi.bytesSentPerBeat - lo.bytesSentPerBeat) / (hi.recordsPerBeat - lo.recordsPerBeat);
    const fixed = lo.bytesSentPerBeat - perRecord * lo.recordsPerBeat;
    results.scenarios.cluster.heartbeatBytes = { fixed, perRecord };
    print(
      `Calls are counted by a Proxy over each replica's \`RedisLeaseStore\`; bytes are the arguments and reply of the store's Redis commands, without RESP framing. Calls are the heartbeat and the leader elector's acquire or renew (the elector runs whenever \`cluster\` is set), each once per retry period plus the time the call takes (the waits slide). A heartbeat's payload grows by about ${fmt(perRecord, 0)} B per run record, over about ${fmt(fixed, 0)} B without any (most of it the Lua script's text: \`EVAL\` sends it with every call).\n`,
    );
    print('### 7b. Cluster: the spread, once settled (owned loops by `registry.list()`)\n');
    print(
      table(
        ['spread loops', '3 replicas: fewest', 'most', 'max / mean', '4 replicas: max / mean'],
        sizes.map((k) => {
          const x = m[`redis/${k}`];
          return [
            n(k),
            fmt(x.spreadMin, 0),
            fmt(x.spreadMax, 0),
            fmt(x.spread, 3),
            fmt(x.spread4, 3),
          ];
        }),
      ) + '\n',
    );
    print(
      `### 7c. Cluster: rebalancing (wall time from the event; loops of ${period / 1000} s keep their cadence across a hand-over)\n`,
    );
    const events = [
      ['join', 'a 4th replica joins (from its app created, its modules loaded)'],
      ['leave', 'a replica leaves (`app.close()`)'],
      ['kill', 'a replica is killed (SIGKILL)'],
    ];
    const rows = [];
    for (const [event, label] of events) {
      for (const k of sizes) {
        const x = m[`redis/${k}`];
        const field = (f) => x[`${event}${f}`];
        const member =
          event === 'join'
            ? ` (${fmt(x.joinMemberOwnedMs, 0)} ms from its first heartbeat; app boot ${fmt(x.joinBootMs, 0)} ms)`
            : event === 'leave'
              ? ` (\`app.close()\` ${fmt(x.leaveCloseMs, 0)} ms)`
              : '';
        rows.push([
          label,
          n(k),
          fmt(field('Moved'), 0),
          `${fmt(field('OwnedMs'), 0)} ms${member}`,
          `${fmt(field('RanMs'), 0)} ms`,
          `${fmt(field('MinGap'), 0)} / ${fmt(field('MaxGap'), 0)} ms`,
        ]);
      }
    }
    print(
      table(
        [
          'event',
          'spread loops',
          'loops moved',
          'all claimed by their new owners',
          'all ran there',
          "gap from a moved loop's last run to its next: shortest / longest",
        ],
        rows,
      ) + '\n',
    );
    print(
      `A moved loop runs on its new owner when its period since its last recorded run is up, so "all ran there" is up to a period after the claims. A graceful hand-over writes the last run, so its gaps stay near the period; a killed replica's runs since its last heartbeat were never recorded, so its loops may run early (a gap under the period) once the lease (${leaseDuration} ms) has run out.\n`,
    );
  }
  const c = (p) => m[`memory/${p}`];
  print(
    `### 7d. Cluster: the cost per run of recording runs (one process, in-memory store on the real clock, 10,000 loops of ${period / 1000} s, empty body; ${timing})\n`,
  );
  print(
    table(
      [
        'loops',
        'µs/run',
        'over `every`',
        'CPU ms/s',
        'runs / ideal',
        'heartbeats/s',
        'records sent / run',
      ],
      [
        ['no `cluster` option', c('none')],
        ["`placement: 'every'` (`cluster` set: the elector runs)", c('every')],
        [
          "`placement: 'spread'` (the one member owns all: gated, recorded, heartbeats carry the records)",
          c('spread'),
        ],
      ].map(([label, x]) => [
        label,
        fmt(x.cpuMicrosPerRun),
        `${fmt(x.cpuMicrosPerRun - c('every').cpuMicrosPerRun)} µs`,
        fmt(x.cpuMillisPerSecond, 1),
        pct(x.rate),
        fmt(x.heartbeatsPerSecond),
        fmt(x.recordsPerRun),
      ]),
    ) + '\n',
  );
  if (!skipped) {
    const at = (k) => m[`redis/${k}`];
    const flat = at(10000).callsPerSecond / at(100).callsPerSecond;
    target(
      'cluster: store calls/s per replica flat in the loops (10,000 within 1.2x of 100)',
      `${fmt(at(100).callsPerSecond)} / ${fmt(at(1000).callsPerSecond)} / ${fmt(at(10000).callsPerSecond)} (${fmt(flat)}x)`,
      flat <= 1.2,
    );
    const other = Math.max(...sizes.map((k) => at(k).otherPerSecond));
    target(
      'cluster: no store call in the steady state but heartbeats and the elector',
      `${fmt(other)} other calls/s`,
      other === 0,
    );
    const spread = Math.max(...sizes.map((k) => at(k).spread));
    target('cluster: spread, max / mean owned <= 1.15', fmt(spread, 3), spread <= 1.15);
    const bound = leaseDuration + 2.2 * retryPeriod;
    const kill = Math.max(...sizes.map((k) => at(k).killRanMs));
    target(
      `cluster: a killed replica's loops ran elsewhere <= leaseDuration + 2.2 x retryPeriod (${bound} ms)`,
      `${fmt(kill, 0)} ms`,
      kill <= bound,
    );
    const join = Math.max(...sizes.map((k) => at(k).joinMemberOwnedMs));
    target(
      'cluster: a joining replica owns its share <= 1 s from its first heartbeat',
      `${fmt(join, 0)} ms (${fmt(Math.max(...sizes.map((k) => at(k).joinOwnedMs)), 0)} ms from its app's creation)`,
      join <= 1000,
    );
    const leave = Math.max(...sizes.map((k) => at(k).leaveOwnedMs));
    target(
      "cluster: a leaving replica's loops owned elsewhere <= 1 s",
      `${fmt(leave, 0)} ms`,
      leave <= 1000,
    );
    const late =
      Math.max(...sizes.map((k) => Math.max(at(k).joinMaxGap, at(k).leaveMaxGap))) - period;
    target(
      "cluster: a hand-over (join, leave) delays no loop's run by more than 1 s past its turn",
      `${fmt(late, 0)} ms at most`,
      late <= 1000,
    );
  }
}

results.loadAfter = os.loadavg();
results.seconds = (performance.now() - t0) / 1000;
print('### Targets\n');
print(
  table(
    ['target', 'measured', 'met'],
    results.targets.map((t) => [t.name, t.value, t.met ? 'yes' : '**no**']),
  ) + '\n',
);
print(
  `${results.seconds.toFixed(0)} s; load after ${results.loadAfter.map((l) => l.toFixed(2)).join(' ')}.`,
);
results.markdown = output.join('\n');
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
