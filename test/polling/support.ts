import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FakeClock } from '../../lib/testing/index.js';
import { WaitModule, type WaitModuleOptions } from '../../lib/index.js';

export { deferred } from '../support/helpers.js';

/** One line logged through Nest's Logger. */
export interface Logged {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  /** The stack or detail passed with an error. */
  detail?: unknown;
  context?: string;
}

/** A LoggerService that keeps every line, so tests can read what the module logged. */
export class CapturingLogger implements LoggerService {
  readonly lines: Logged[] = [];

  log(message: string, context?: string): void {
    this.lines.push({ level: 'log', message, context });
  }
  error(message: string, detail?: unknown, context?: string): void {
    this.lines.push({ level: 'error', message, detail, context });
  }
  warn(message: string, context?: string): void {
    this.lines.push({ level: 'warn', message, context });
  }
  debug(message: string, context?: string): void {
    this.lines.push({ level: 'debug', message, context });
  }
  verbose(message: string, context?: string): void {
    this.lines.push({ level: 'verbose', message, context });
  }
  fatal(message: string, context?: string): void {
    this.lines.push({ level: 'fatal', message, context });
  }

  /** Lines of the module (context 'WaitModule') at `level`. */
  of(level: Logged['level']): string[] {
    return this.lines
      .filter((l) => l.level === level && l.context === 'WaitModule')
      .map((l) => l.message);
  }
}

/** An app under test, on a FakeClock, with its logs. */
export interface Booted {
  app: INestApplication;
  clock: FakeClock;
  logger: CapturingLogger;
}

/**
 * Compiles and initialises an app that imports `WaitModule.forRoot({ clock, ...options })` and the
 * given metadata. `init: false` leaves `app.init()` to the test (bootstrap errors).
 */
export async function boot(
  metadata: ModuleMetadata,
  options: WaitModuleOptions = {},
  { init = true, clock = new FakeClock() }: { init?: boolean; clock?: FakeClock } = {},
): Promise<Booted> {
  const logger = new CapturingLogger();
  const ref = await Test.createTestingModule({
    ...metadata,
    imports: [WaitModule.forRoot({ clock, ...options }), ...(metadata.imports ?? [])],
  })
    .setLogger(logger)
    .compile();
  const app = ref.createNestApplication({ logger });
  if (init) await app.init();
  return { app, clock, logger };
}

/** Records each run's start and end times on `clock`, and whether two ever overlapped. */
export class RunLog {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  running = 0;
  maxRunning = 0;

  constructor(private readonly clock: FakeClock) {}

  begin(): void {
    this.starts.push(this.clock.now());
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
  }

  end(): void {
    this.running--;
    this.ends.push(this.clock.now());
  }

  /** Start-to-start gaps. */
  gaps(): number[] {
    return this.starts.slice(1).map((t, i) => t - this.starts[i]);
  }
}

/** Closes the app while moving the fake clock, so runs sleeping on it can finish. */
export function close({ app, clock }: Booted): Promise<void> {
  return clock.runUntil(app.close());
}
