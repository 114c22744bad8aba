import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PollingRegistry } from 'nestjs-wait';
import { AppModule } from './app.module.js';

const logger = new Logger('Sample');
const app = await NestFactory.create(AppModule);

// Every loop event is on registry.events$; here, a line when a loop stops.
app.get(PollingRegistry).events$.subscribe((event) => {
  if (event.type === 'stopped')
    logger.log(`Loop ${event.name} stopped after ${event.iteration} run(s)`);
});

// SIGTERM/SIGINT close the app: WaitModule aborts every loop's signal and waits (up to
// SHUTDOWN_TIMEOUT) for runs in flight, the HTTP server closes, and with nothing left to do the
// process exits by itself, with code 0. (`app.enableShutdownHooks()` would also run the hooks, but
// then re-raises the signal, so the process ends killed by it; a second signal does that here.)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.log(`${signal}: shutting down`);
    app.close().catch((error: unknown) => {
      logger.error('Shutdown failed', error instanceof Error ? error.stack : error);
      process.exitCode = 1;
    });
  });
}

await app.listen(process.env.PORT ?? 3000, '127.0.0.1');
const url = await app.getUrl();
logger.log(`Sample listening on ${url}`);
logger.log(`Dashboard on ${url}/wait`);
