import type { Logger } from '@nestjs/common';
import type { HeldControl } from '../cluster/loop-controls.js';
import type { LoopOwnership } from '../cluster/loop-ownership.js';
import type { ManagedLoop } from './loop/managed-loop.js';
import type { LoopSettings } from './loop/loop-settings.js';
import { messages } from './polling.messages.js';
import { planChanges } from './until-options.checker.js';

/**
 * Makes a spread or leader loop follow its cluster-wide control (what `stop()`, `start()` and
 * `update()` on any replica kept in the store): a pause closes its gate here, a start starts
 * it, the overrides re-time it from the settings it was added with. Applied on every replica,
 * owner or not, so that whoever owns the loop next already follows it. Overrides this version
 * of the app rejects (written by another version) are logged and left out. Internal.
 */
export function followControl(
  loop: ManagedLoop,
  ownership: LoopOwnership,
  logger: Logger,
  closed: () => boolean,
): (control: HeldControl | undefined) => void {
  const base: LoopSettings = loop.settings;
  let overridden = false;
  const apply = (control: HeldControl | undefined): void => {
    ownership.paused = control?.state === 'paused' ? { by: control.by, at: control.at } : undefined;
    if (control?.overrides !== undefined) {
      try {
        const where = 'the cluster-wide update';
        loop.update(planChanges(base, control.overrides, where, loop.name));
        overridden = true;
      } catch (error) {
        logger.warn(messages.badOverrides(loop.name, error));
      }
    } else if (overridden) {
      // The store lost the overrides with its data: back to the settings the loop was added with.
      loop.update(base);
      overridden = false;
    }
    if (control?.state === 'started' && !closed()) loop.start();
    loop.gateChanged();
  };
  ownership.onControl = apply;
  return apply;
}
