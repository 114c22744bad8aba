import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

/*
 * A TCP proxy on 127.0.0.1 in front of the real Redis or PostgreSQL, to put a fault at a chosen
 * moment of a store call instead of hoping a timer lands in the right phase:
 * - `killOn(pattern)`: the first time the client sends bytes that match (a LISTEN, an EVAL, the
 *   first bytes of a connection), both sides are destroyed before the server sees them;
 * - `freeze()`/`thaw()`: the server seems frozen (as a SIGSTOP'd process): bytes either way are
 *   held, in order, and delivered on thaw; a client that closes meanwhile is closed towards the
 *   server after its held bytes, as the kernel would;
 * - `freezeOn(pattern)`: freezes when the client sends bytes that match, those bytes held.
 * Only this test process's connections go through it; the servers are never touched.
 */

interface Pair {
  client: Socket;
  server: Socket;
  held: { to: 'server' | 'client'; data: Buffer }[];
  clientEnded: boolean;
}

export class FaultProxy {
  private readonly pairs = new Set<Pair>();
  private frozen = false;
  private kill: { pattern: RegExp; fired: () => void } | undefined = undefined;
  private freezing: { pattern: RegExp; fired: () => void } | undefined = undefined;
  /** Connections made so far. */
  connections = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<FaultProxy> {
    const accepting: { proxy?: FaultProxy } = {};
    const server = createServer((client) => accepting.proxy!.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    accepting.proxy = new FaultProxy(server, (server.address() as AddressInfo).port);
    return accepting.proxy;
  }

  /** Resolves once a client sent bytes matching `pattern` and both sides were destroyed. */
  killOn(pattern: RegExp): Promise<void> {
    return new Promise((resolve) => (this.kill = { pattern, fired: resolve }));
  }

  /** Resolves once a client sent bytes matching `pattern`: they and all after them are held. */
  freezeOn(pattern: RegExp): Promise<void> {
    return new Promise((resolve) => (this.freezing = { pattern, fired: resolve }));
  }

  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
    for (const pair of this.pairs) {
      for (const { to, data } of pair.held.splice(0)) {
        (to === 'server' ? pair.server : pair.client).write(data);
      }
      if (pair.clientEnded) pair.server.end();
    }
  }

  /** Destroys every connection now. */
  killAll(): void {
    for (const pair of this.pairs) this.destroy(pair);
  }

  async close(): Promise<void> {
    this.killAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    this.connections++;
    const server = new Socket();
    const pair: Pair = { client, server, held: [], clientEnded: false };
    this.pairs.add(pair);
    client.on('error', () => undefined);
    server.on('error', () => undefined);
    server.connect(targetPort, '127.0.0.1');
    client.on('data', (data: Buffer) => {
      const kill = this.kill;
      if (kill !== undefined && kill.pattern.test(data.toString('latin1'))) {
        this.kill = undefined;
        this.destroy(pair);
        kill.fired();
        return;
      }
      const freezing = this.freezing;
      if (freezing !== undefined && freezing.pattern.test(data.toString('latin1'))) {
        this.freezing = undefined;
        this.frozen = true;
        freezing.fired();
      }
      if (this.frozen) pair.held.push({ to: 'server', data });
      else server.write(data);
    });
    server.on('data', (data: Buffer) => {
      if (this.frozen) pair.held.push({ to: 'client', data });
      else client.write(data);
    });
    client.on('end', () => {
      pair.clientEnded = true;
      if (!this.frozen) server.end();
    });
    server.on('end', () => {
      if (!this.frozen) client.end();
    });
    client.on('close', () => {
      pair.clientEnded = true;
      if (!this.frozen) this.destroy(pair);
    });
    server.on('close', () => {
      if (!this.frozen) this.destroy(pair);
    });
  }

  private destroy(pair: Pair): void {
    pair.client.destroy();
    pair.server.destroy();
    this.pairs.delete(pair);
  }
}
