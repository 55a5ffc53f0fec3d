/**
 * Makes `@Timed`/`@Counted` calls on one app's instances record into that app's registry, even
 * with several apps alive in one process (see `registry-holder.ts`).
 *
 * The app's instances are read from Nest's `ModulesContainer`: at `onModuleInit` (every static
 * instance exists by then), or earlier on the first decorated call that finds no owner (a
 * `TestingModule` that is compiled and never `init()`ed). The module becomes the fallback for
 * calls on unclaimed objects only once its app bootstrapped: a boot that fails (a provider that
 * cannot be built, an `onModuleInit` that throws) leaves nothing held.
 */
import {
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { Registry } from '@spectator/core';
import {
  addPendingClaim,
  claimForRegistry,
  holdDecoratorRegistry,
  releaseClaims,
  releaseDecoratorRegistry,
  settlePendingClaim,
} from './registry-holder.js';

/** What this file reads from Nest's `InstanceWrapper`, structurally (Nest 10 to 12). */
interface InstanceWrapperLike {
  readonly instance?: unknown;
  readonly metatype?: unknown;
  getStaticTransientInstances?(): Array<{ instance?: unknown } | undefined>;
}

/** What this file reads from Nest's `Module`, structurally. */
interface ModuleLike {
  readonly instance?: unknown;
  readonly providers?: Map<unknown, InstanceWrapperLike>;
  readonly controllers?: Map<unknown, InstanceWrapperLike>;
  readonly injectables?: Map<unknown, InstanceWrapperLike>;
  readonly middlewares?: Map<unknown, InstanceWrapperLike>;
}

/** Nest's `ModulesContainer`: a Map of the app's modules. */
export type ModulesContainerLike = Map<unknown, ModuleLike>;

function isObject(value: unknown): value is object {
  return value !== null && (typeof value === 'object' || typeof value === 'function');
}

/** Every instance and class of the app: what decorated methods may be called on. */
export function appObjects(container: ModulesContainerLike): Set<object> {
  const objects = new Set<object>();
  const add = (value: unknown): void => {
    if (isObject(value)) objects.add(value);
  };
  for (const module of container.values()) {
    add(module.instance);
    for (const wrappers of [
      module.providers,
      module.controllers,
      module.injectables,
      module.middlewares,
    ]) {
      if (wrappers === undefined) continue;
      for (const wrapper of wrappers.values()) {
        try {
          add(wrapper.instance);
          // Classes: static methods, and request-scoped instances created per request.
          add(wrapper.metatype);
          for (const transient of wrapper.getStaticTransientInstances?.() ?? []) {
            add(transient?.instance);
          }
        } catch {
          // A wrapper Nest could not build: nothing of it to claim.
        }
      }
    }
  }
  return objects;
}

/** The module's provider that scopes the decorators to the app's registry. */
export class SpectatorDecoratorScope
  implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown
{
  private readonly logger = new Logger('SpectatorModule');
  private claimed = new Set<object>();
  private pending: (() => void) | undefined;
  private held = false;

  constructor(
    private readonly registry: Registry,
    private readonly container: ModulesContainerLike | undefined,
  ) {
    // Weakly: a failed boot's scope (and its container) must not stay reachable from here.
    const self = new WeakRef(this);
    if (container !== undefined) this.pending = addPendingClaim(() => self.deref()?.claim());
  }

  onModuleInit(): void {
    if (this.pending !== undefined) settlePendingClaim(this.pending);
    this.pending = undefined;
    // Again even if a call claimed earlier: instances created since then are included.
    this.claim();
  }

  onApplicationBootstrap(): void {
    if (this.held) return;
    this.held = true;
    holdDecoratorRegistry(this.registry);
  }

  onModuleDestroy(): void {
    if (this.pending !== undefined) settlePendingClaim(this.pending);
    this.pending = undefined;
  }

  /**
   * After the server closed, not at `onModuleDestroy`: `app.close()` runs the destroy hooks
   * first and then waits for the requests still in flight, whose decorated calls must still
   * record into this app's registry, which is flushed after.
   */
  onApplicationShutdown(): void {
    if (this.held) releaseDecoratorRegistry(this.registry);
    this.held = false;
    releaseClaims(this.claimed, this.registry);
    this.claimed = new Set();
  }

  /** Never throws: it may run inside a decorated call. */
  private claim(): void {
    if (this.container === undefined) return;
    try {
      const objects = appObjects(this.container);
      claimForRegistry(objects, this.registry);
      for (const object of objects) this.claimed.add(object);
    } catch (error) {
      this.logger.warn(
        `could not read the app's instances; @Timed/@Counted record into the fallback registry: ${String(error)}`,
      );
    }
  }
}
