/**
 * The built sample app (dist-sample/main.js, built by the jest global setup) as a child process:
 * on a free port (`PORT=0`, its URL read from the "Sample listening on" line), driven over HTTP,
 * its output kept to count the runs it logged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A loop as `GET /loops` shows it: the cluster's view (see sample/loops.controller.ts). */
export interface LoopView {
  name: string;
  state: 'running' | 'stopped' | 'standby' | 'paused';
  placement: 'every' | 'leader' | 'spread';
  owner?: string;
  period: number;
  iterations: number;
  failures: number;
  consecutiveFailures: number;
  inFlight: boolean;
  runningSince?: string;
  lastStartedAt?: string;
  lastSucceededAt?: string;
  lastEndedAt?: string;
  lastOutcome?: 'succeeded' | 'failed';
  lastError?: string;
  lastErrorMessage?: string;
  nextRunAt?: string;
  pausedBy?: string;
  pausedAt?: string;
  reportedAt?: string;
}

interface Health {
  info?: {
    loops: {
      role: string;
      identity: string;
      leader: string | null;
      loops: Record<string, { state: string }>;
    };
  };
}

export class Sample {
  readonly child: ChildProcess;
  output = '';
  /** Resolves when the process has exited (whether by itself or killed). */
  readonly exited: Promise<void>;

  /** @param env - added to this process's environment (`PORT=0`, `NO_COLOR=1` and `POD_NAME` set). */
  constructor(
    readonly pod: string,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['dist-sample/main.js'], {
      cwd: root,
      env: { ...process.env, PORT: '0', NO_COLOR: '1', ...env, POD_NAME: pod },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdout!.setEncoding('utf8').on('data', (c: string) => (this.output += c));
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => (this.output += c));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get url(): string | undefined {
    return /Sample listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(this.output)?.[1];
  }

  /** GET /loops: each loop's view, by name; `undefined` before the app listens. */
  async loops(): Promise<Record<string, LoopView> | undefined> {
    if (this.url === undefined) return undefined;
    const response = await fetch(`${this.url}/loops`, { signal: AbortSignal.timeout(5000) });
    if (response.status !== 200) throw new Error(`GET /loops: ${response.status}`);
    const list = (await response.json()) as LoopView[];
    return Object.fromEntries(list.map((l) => [l.name, l]));
  }

  /** GET /loops/:name. */
  async loop(name: string): Promise<LoopView> {
    const response = await fetch(`${this.url}/loops/${name}`, {
      signal: AbortSignal.timeout(5000),
    });
    if (response.status !== 200) throw new Error(`GET /loops/${name}: ${response.status}`);
    return (await response.json()) as LoopView;
  }

  /** POST /loops/:name/stop|start|trigger: its status code and the loop's view it answers. */
  async post(
    name: string,
    action: 'stop' | 'start' | 'trigger',
  ): Promise<{ status: number; body: LoopView }> {
    const response = await fetch(`${this.url}/loops/${name}/${action}`, {
      method: 'POST',
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: (await response.json()) as LoopView };
  }

  /** The loops part of GET /health. */
  async health(): Promise<NonNullable<Health['info']>['loops'] | undefined> {
    if (this.url === undefined) return undefined;
    const response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(5000) });
    return ((await response.json()) as Health).info?.loops;
  }

  /**
   * The runs of `loop` this process logged so far: the loop logs each settled run ("Loop <name>
   * succeeded (run n)" at the verbose level, "... failed (...)" as an error, "... succeeded
   * after n failures" for a recovery).
   */
  runs(loop: string): number {
    const line = new RegExp(`Loop ${loop} (succeeded \\(|succeeded after|failed \\()`, 'g');
    return this.output.match(line)?.length ?? 0;
  }

  /** SIGKILL if still running; resolves once it has exited. */
  kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    return this.exited;
  }
}
