import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Until, type PollingContext } from 'nestjs-wait';
import { ContainerRuntime } from './container-runtime.js';
import { gcSettings, type GcSettings } from './gc.config.js';

/** The loops' names: in the registry, the logs, `/loops/:name` and `WaitModule`'s `loops` option. */
export const CONTAINER_GC = 'container-gc';
export const IMAGE_GC = 'image-gc';

/**
 * The kubelet's garbage collection (`Kubelet.StartGarbageCollection`): dead containers every
 * minute, unused images every five minutes when the image filesystem fills up.
 *
 * Each run gets `ctx.signal`, aborted when the loop stops (shutdown, `POST /loops/:name/stop`), and
 * passes it on to every runtime call. A failed run just throws: the loop logs the error with its
 * name and tries again next period, and logs the first success after failures once as a recovery;
 * routine successes are logged at the verbose level (the kubelet's V(4)).
 */
@Injectable()
export class GarbageCollector {
  private readonly logger = new Logger(GarbageCollector.name);
  private readonly settings: GcSettings;

  constructor(
    private readonly runtime: ContainerRuntime,
    config: ConfigService,
  ) {
    this.settings = gcSettings(config);
  }

  /** Removes the containers that have exited. The period comes from `CONTAINER_GC_PERIOD`. */
  @Until('1m', { name: CONTAINER_GC })
  collectContainers({ signal }: PollingContext): Promise<void> {
    return collecting('Container', signal, async () => {
      const containers = await this.runtime.listContainers(signal);
      const dead = containers.filter((container) => container.state === 'exited');
      for (const container of dead) await this.runtime.removeContainer(container.id, signal);
      this.logger.debug(`Removed ${dead.length} dead container(s)`);
    });
  }

  /**
   * Above the high threshold of disk usage, removes unused images, least recently used first,
   * down to the low threshold. Not started when `IMAGE_GC_HIGH_THRESHOLD_PERCENT` is 100.
   */
  @Until('5m', { name: IMAGE_GC })
  collectImages({ signal }: PollingContext): Promise<void> {
    return collecting('Image', signal, async () => {
      const { imageGcHighThresholdPercent: high, imageGcLowThresholdPercent: low } = this.settings;
      const { usedMb, diskMb } = await this.runtime.imageFsStats(signal);
      const usage = Math.round((100 * usedMb) / diskMb);
      if (usage < high) {
        this.logger.debug(`Image filesystem ${usage}% full, below the ${high}% threshold`);
        return;
      }
      const toFreeMb = usedMb - (diskMb * low) / 100;
      const inUse = new Set((await this.runtime.listContainers(signal)).map((c) => c.image));
      const unused = (await this.runtime.listImages(signal))
        .filter((image) => !inUse.has(image.id))
        .sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
      let freedMb = 0;
      for (const image of unused) {
        if (freedMb >= toFreeMb) break;
        await this.runtime.removeImage(image.id, signal);
        freedMb += image.sizeMb;
      }
      if (freedMb < toFreeMb) {
        throw new Error(
          `attempted to free ${toFreeMb} MB, but only found ${freedMb} MB eligible to free`,
        );
      }
      this.logger.log(
        `Image filesystem was ${usage}% full (threshold ${high}%); freed ${freedMb} MB`,
      );
    });
  }
}

/** Words a failure the kubelet's way ("Container garbage collection failed: ..."). */
async function collecting(what: string, signal: AbortSignal, work: () => Promise<void>) {
  try {
    await work();
  } catch (error) {
    // Stopped in the middle of a run: not a failure, the next run picks up what is left.
    if (signal.aborted) return;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${what} garbage collection failed: ${reason}`, { cause: error });
  }
}
