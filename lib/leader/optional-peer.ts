import { importOptional } from '../optional-peer.js';
import { messages } from './leader-messages.js';

/**
 * Loads a lease store's driver (`ioredis`, `pg`) when the store first needs it; a missing one is
 * reported with the install command instead of a bare module-not-found error. Internal.
 */
export async function loadPeer<T>(name: string, user: string): Promise<T> {
  const peer = await importOptional<T>(name);
  if (!peer.found) throw new Error(messages.missingPeer(user, name), { cause: peer.missing });
  return peer.module;
}
