import { Controller, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { PollingRegistry, type LoopStatus } from 'nestjs-wait';
import { inspect } from 'node:util';

/** A loop's status as JSON: the error as its message (an `Error` serializes to `{}`). */
export type LoopView = Omit<LoopStatus, 'lastError'> & { lastError?: string };

/**
 * The app's loops over HTTP, through the `PollingRegistry`, as the cluster sees them: any
 * replica behind a load balancer shows, stops, starts and triggers a spread or leader loop
 * wherever it runs.
 */
@Controller('loops')
export class LoopsController {
  constructor(private readonly registry: PollingRegistry) {}

  @Get()
  async list(): Promise<LoopView[]> {
    return (await this.registry.list({ cluster: true })).map(view);
  }

  @Get(':name')
  async get(@Param('name') name: string): Promise<LoopView> {
    return view(await this.registry.get(this.known(name), { cluster: true }));
  }

  /** Stops the loop; answers once a run in flight has seen its signal and settled. */
  @Post(':name/stop')
  @HttpCode(200)
  async stop(@Param('name') name: string): Promise<LoopView> {
    await this.registry.stop(this.known(name));
    return this.get(name);
  }

  @Post(':name/start')
  @HttpCode(200)
  async start(@Param('name') name: string): Promise<LoopView> {
    await this.registry.start(this.known(name));
    return this.get(name);
  }

  /**
   * Runs the loop now (also a stopped one), on its owner, and answers with the status after that
   * run.
   */
  @Post(':name/trigger')
  @HttpCode(200)
  async trigger(@Param('name') name: string): Promise<LoopView> {
    await this.registry.trigger(this.known(name));
    return this.get(name);
  }

  /** The registry throws on an unknown name; that is a 404 here. */
  private known(name: string): string {
    if (!this.registry.has(name)) throw new NotFoundException(`no loop is named "${name}"`);
    return name;
  }
}

function view({ lastError, ...status }: LoopStatus): LoopView {
  if (lastError === undefined) return status;
  return {
    ...status,
    lastError: lastError instanceof Error ? lastError.message : inspect(lastError),
  };
}
