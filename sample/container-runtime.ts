import { Injectable } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';

export interface Container {
  id: string;
  image: string;
  state: 'running' | 'exited';
}

export interface Image {
  id: string;
  sizeMb: number;
  /** When a container last used it (the image GC frees the least recently used first). */
  lastUsed: Date;
}

/**
 * A stand-in for the container runtime (containerd behind the CRI in the kubelet): containers and
 * images held in memory, each call a few milliseconds of simulated RPC that `signal` aborts.
 * `POST /runtime/outage` makes every call fail until `DELETE /runtime/outage`.
 */
@Injectable()
export class ContainerRuntime {
  outage = false;
  private readonly diskMb = 10_000;
  private jobs = 0;
  private readonly containers: Container[] = [
    { id: 'web-1', image: 'nginx:1.27', state: 'running' },
    { id: 'cache-1', image: 'redis:7.4', state: 'running' },
    { id: 'migrate-1', image: 'postgres:16', state: 'exited' },
    { id: 'web-0', image: 'nginx:1.26', state: 'exited' },
  ];
  private readonly images: Image[] = [
    { id: 'nginx:1.27', sizeMb: 1_200, lastUsed: new Date() },
    { id: 'redis:7.4', sizeMb: 900, lastUsed: new Date() },
    { id: 'nginx:1.26', sizeMb: 1_200, lastUsed: new Date(Date.now() - 86_400_000) },
    { id: 'postgres:16', sizeMb: 2_600, lastUsed: new Date(Date.now() - 3_600_000) },
    { id: 'node:18', sizeMb: 2_600, lastUsed: new Date(Date.now() - 7 * 86_400_000) },
    { id: 'busybox:1.36', sizeMb: 400, lastUsed: new Date() },
  ];

  async listContainers(signal: AbortSignal): Promise<Container[]> {
    await this.rpc(signal);
    // Workloads come and go: every listing finds one more finished batch job.
    this.containers.push({ id: `job-${++this.jobs}`, image: 'busybox:1.36', state: 'exited' });
    return this.containers.map((container) => ({ ...container }));
  }

  async removeContainer(id: string, signal: AbortSignal): Promise<void> {
    await this.rpc(signal);
    const at = this.containers.findIndex((container) => container.id === id);
    if (at >= 0) this.containers.splice(at, 1);
  }

  async listImages(signal: AbortSignal): Promise<Image[]> {
    await this.rpc(signal);
    return this.images.map((image) => ({ ...image }));
  }

  async removeImage(id: string, signal: AbortSignal): Promise<void> {
    await this.rpc(signal);
    const at = this.images.findIndex((image) => image.id === id);
    if (at >= 0) this.images.splice(at, 1);
  }

  /** The image filesystem: its size and how much of it the images take. */
  async imageFsStats(signal: AbortSignal): Promise<{ usedMb: number; diskMb: number }> {
    await this.rpc(signal);
    return { usedMb: this.usedMb(), diskMb: this.diskMb };
  }

  /** What `GET /runtime` shows. */
  snapshot() {
    const usedMb = this.usedMb();
    return {
      outage: this.outage,
      containers: this.containers,
      images: this.images,
      imageFs: {
        usedMb,
        diskMb: this.diskMb,
        usage: `${Math.round((100 * usedMb) / this.diskMb)}%`,
      },
    };
  }

  private usedMb(): number {
    return this.images.reduce((sum, image) => sum + image.sizeMb, 0);
  }

  private async rpc(signal: AbortSignal): Promise<void> {
    await delay(5, undefined, { signal }); // rejects with an AbortError once the loop is stopped
    if (this.outage) {
      throw new Error('rpc error: code = Unavailable desc = connection refused (runtime is down)');
    }
  }
}
