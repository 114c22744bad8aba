import type { Redis } from 'ioredis';
import type { LeaseWatch } from '../leader/lease-store.js';
import type { RedisConnections } from './redis-connections.js';

/**
 * Release announcements of a `RedisLeaseStore`: one subscriber connection, opened on the first
 * watch, subscribed once to each channel that has watches; ioredis subscribes again by itself
 * after a reconnect, so a watch stays active. Internal.
 */
export class RedisReleaseWatch {
  private subscriber: Promise<Redis> | undefined = undefined;
  private readonly listeners = new Map<string, Set<() => void>>();

  constructor(private readonly connections: RedisConnections) {}

  /** Calls `onReleased` on every message on `channel`, until the watch is closed. */
  async watch(channel: string, onReleased: () => void): Promise<LeaseWatch> {
    const subscriber = await (this.subscriber ??= this.connections.subscriber((announced) => {
      for (const listener of this.listeners.get(announced) ?? []) listener();
    }));
    let listeners = this.listeners.get(channel);
    if (listeners === undefined) {
      this.listeners.set(channel, (listeners = new Set()));
      await subscriber.subscribe(channel);
    }
    const listener = (): void => onReleased();
    listeners.add(listener);
    return {
      active: true,
      close: () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          this.listeners.delete(channel);
          // Not awaited: the subscriber queues while offline, and a frozen or unreachable
          // server must not hold a shutdown; no callback runs for this watch any more.
          subscriber.unsubscribe(channel).catch(() => undefined);
        }
        return Promise.resolve();
      },
    };
  }
}
