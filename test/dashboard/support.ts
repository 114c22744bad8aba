import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { TestingModule } from '@nestjs/testing';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The HTTP adapters the dashboard is tested on. */
export type Adapter = 'express' | 'fastify';

/** The testing module's app on `adapter`, without Nest's logs. */
export function appOn(adapter: Adapter, moduleRef: TestingModule): INestApplication {
  return adapter === 'fastify'
    ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
        logger: false,
      })
    : moduleRef.createNestApplication({ logger: false });
}

/** Listens on a free port of 127.0.0.1; answers the app's origin (`http://127.0.0.1:<port>`). */
export async function listening(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** One server-sent event: its name and its data, parsed as JSON. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/** The server-sent events of an open response, read on demand. */
export function sse(response: Response) {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let buffer = '';
  let ended = false;
  return {
    events,
    /** Reads until `until(events)` holds or the stream ends; resolves whether it ended. */
    async until(until: (seen: SseEvent[]) => boolean): Promise<boolean> {
      while (!ended && !until(events)) {
        const { value, done } = await reader.read();
        if (done) ended = true;
        else buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ event, data: JSON.parse(data.join('\n')) });
        }
      }
      return ended;
    },
  };
}
