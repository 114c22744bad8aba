// Scenario 5: shutdown. A Nest app with n idle loops (1 h period), or with `inFlight` loops whose
// run is in flight and honours its signal (an hour's sleep): the time `app.close()` takes, and the
// handles (timers and others) left open after it, against the process before the app.
// nestjs-wait stops its loops itself; the baselines get what a careful user writes by hand: a
// provider whose shutdown hook stops the timers and aborts a shared AbortController that the runs
// honour (the naive loop also waits for its loops).
import { setTimeout as sleep } from 'node:timers/promises';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { createApp, nest, pause, prepare, report } from '../lib/impls.mjs';

const HOUR = 3_600_000;

function handles() {
  const counts = {};
  for (const type of process.getActiveResourcesInfo()) {
    // stdio: a warning printed by a baseline (MaxListenersExceededWarning) opens stderr's pipe.
    if (type === 'PipeWrap' || type === 'TTYWrap') continue;
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

export async function run(name, { n = 100_000, inFlight = 0 }) {
  if (name === 'abort-floor') return abortFloor(n);
  const before = handles();
  const count = inFlight || n;
  const ac = new AbortController();
  let started = 0;
  const idle = () => {};
  let app;
  if (name === 'wait-module') {
    app = await createApp([nest.WaitModule.forRoot()]);
    const registry = app.get(nest.PollingRegistry);
    const body = inFlight
      ? ({ signal }) => {
          started++;
          return sleep(HOUR, undefined, { signal });
        }
      : () => void started++;
    for (let i = 0; i < count; i++) registry.add(`loop${i}`, body, { period: HOUR });
  } else {
    const honour = (ctx) => {
      started++;
      return sleep(HOUR, undefined, { signal: ctx?.signal ?? ac.signal }).catch(() => {});
    };
    const impl = name === 'schedule' ? undefined : await prepare(name);
    class Stopper {
      beforeApplicationShutdown() {
        ac.abort();
      }
      onApplicationShutdown() {
        return impl?.stop();
      }
    }
    const imports = name === 'schedule' ? [ScheduleModule.forRoot()] : [];
    app = await createApp(imports, [Stopper]);
    if (name === 'schedule') {
      const registry = app.get(SchedulerRegistry);
      for (let i = 0; i < count; i++) registry.addInterval(`loop${i}`, setInterval(idle, HOUR));
    } else if (name === 'naive') {
      impl.start(count, { period: HOUR, body: inFlight ? honour : idle }); // runs at once
    } else {
      impl.start(count, { period: HOUR, body: idle });
    }
    if (inFlight && name !== 'naive') for (let i = 0; i < count; i++) void honour();
  }
  await pause(100);
  if (inFlight && started < count) throw new Error(`only ${started} of ${count} runs in flight`);
  const t0 = performance.now();
  await app.close();
  const closeMs = performance.now() - t0;
  await new Promise((resolve) => setImmediate(resolve));
  const after = handles();
  let left = 0;
  for (const [type, k] of Object.entries(after)) left += Math.max(0, k - (before[type] ?? 0));
  report({ closeMs, handlesLeft: left, handles: after });
}

/**
 * The floor for stopping n loops that each hand their runs an AbortSignal of their own: n calls
 * of `abort()` (one shared reason, no listener), no Nest app.
 */
function abortFloor(n) {
  const controllers = Array.from({ length: n }, () => new AbortController());
  for (const c of controllers) void c.signal; // created, as a run's context would
  const reason = new DOMException('stopped', 'AbortError');
  const t0 = performance.now();
  for (const c of controllers) c.abort(reason);
  report({ closeMs: performance.now() - t0, handlesLeft: 0 });
}
