import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import type { LoopContext } from '../wait/internal.js';
import { UNTIL_METADATA } from './polling.constants.js';
import { messages, places } from './polling.messages.js';
import { planOverride, type LoopPlan } from './until-options.checker.js';
import { WAIT_MODULE_OPTIONS } from './wait.module-definition.js';
import { WaitOrchestrator } from './wait.orchestrator.js';
import type { WaitModuleOptions } from './wait-module.options.js';

interface Found {
  name: string;
  owner: string;
  plan: LoopPlan;
  run: (ctx: LoopContext) => unknown;
}

/**
 * Finds every `@Until()` method of the app's providers and controllers at bootstrap, applies the
 * module's `loops` overrides, registers the loops and starts them. All problems (a scoped
 * provider, two loops with one name, a bad override) fail bootstrap together, in one error.
 * Internal.
 */
@Injectable()
export class WaitExplorer implements OnApplicationBootstrap {
  private readonly logger = new Logger('WaitModule');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly orchestrator: WaitOrchestrator,
    @Inject(WAIT_MODULE_OPTIONS) private readonly options: WaitModuleOptions | undefined,
  ) {}

  /** Nest hook: discover, register, start. */
  onApplicationBootstrap(): void {
    if (!this.orchestrator.claimDiscovery()) return;
    const problems: string[] = [];
    const found = this.discover(problems);
    const overrides = this.options?.loops ?? {};
    const byName = new Map<string, Found>();
    for (const loop of found) {
      const override = overrides[loop.name];
      if (override !== undefined) {
        try {
          const where = places.override(loop.name);
          const { disabled, ...plan } = planOverride(loop.plan, override, where);
          loop.plan = disabled ? { ...plan, autoStart: false } : plan;
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
      try {
        this.orchestrator.placementOf(loop.plan, places.until(loop.owner));
      } catch (error) {
        problems.push((error as Error).message);
      }
      const taken = byName.get(loop.name);
      if (taken !== undefined)
        problems.push(messages.duplicateName(loop.name, taken.owner, loop.owner));
      else byName.set(loop.name, loop);
    }
    if (problems.length > 0) throw new Error(messages.bootstrap(problems));
    for (const name of Object.keys(overrides)) {
      if (!byName.has(name) && !this.orchestrator.loops.has(name)) {
        this.logger.warn(messages.unknownOverride(name, [...byName.keys()]));
      }
    }
    for (const loop of byName.values()) {
      this.orchestrator.register(loop.name, loop.run, loop.plan, places.until(loop.owner));
    }
    this.orchestrator.startAll();
  }

  private discover(problems: string[]): Found[] {
    const found: Found[] = [];
    const seen = new Set<unknown>();
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const wrapper of wrappers) {
      if (wrapper.isAlias) continue;
      const scoped = !wrapper.isDependencyTreeStatic() || wrapper.isTransient;
      const instance: unknown = wrapper.instance;
      const prototype: unknown = scoped
        ? (wrapper.metatype as { prototype?: unknown } | null)?.prototype
        : instance !== null && typeof instance === 'object' && Object.getPrototypeOf(instance);
      if (prototype === null || typeof prototype !== 'object') continue;
      if (!scoped && seen.has(instance)) continue; // the same instance under two tokens
      seen.add(instance);
      const className =
        (prototype.constructor as { name?: string } | undefined)?.name ?? 'anonymous';
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = (prototype as Record<string, unknown>)[method] as (ctx: LoopContext) => unknown;
        const plan = Reflect.getMetadata(UNTIL_METADATA, fn) as LoopPlan | undefined;
        if (plan === undefined) continue;
        const owner = `${className}.${method}`;
        if (scoped) {
          problems.push(messages.scoped(owner, scopeOf(wrapper)));
          continue;
        }
        found.push({ name: plan.name ?? owner, owner, plan, run: (ctx) => fn.call(instance, ctx) });
      }
    }
    return found;
  }
}

function scopeOf(wrapper: InstanceWrapper): string {
  return wrapper.isTransient
    ? 'transient'
    : 'request-scoped (or depends on a request-scoped provider)';
}
