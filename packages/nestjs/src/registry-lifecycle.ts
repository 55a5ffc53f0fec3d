/**
 * Starts the registry given to `SpectatorModule` when the app has bootstrapped and stops it
 * (final publish, sockets released) when the app shuts down: a `new Registry({ uri })` never
 * starts a timer by itself, so without this nothing would be published, and the last interval
 * would be lost at shutdown.
 *
 * `GlobalRegistry` is left alone: it starts by itself and flushes at exit. A registry shared by
 * several live apps is started by the first and stopped by the last one to shut down (counted
 * on `globalThis`, shared by every copy of this package).
 */
import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { isGlobalRegistry, type Registry } from '@spectator/core';

const USERS_KEY = Symbol.for('@spectator/nestjs.managed-registries.v0');

/** Live apps managing each registry. */
function users(): WeakMap<Registry, number> {
  const g = globalThis as { [USERS_KEY]?: WeakMap<Registry, number> };
  return (g[USERS_KEY] ??= new WeakMap());
}

/** The module's provider that starts and stops a registry it was given. */
export class SpectatorRegistryLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SpectatorModule');
  private managing = false;

  /** `manage`: the `manageRegistry` option. */
  constructor(
    private readonly registry: Registry,
    private readonly manage: boolean,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.manage || this.managing || isGlobalRegistry(this.registry)) return;
    this.managing = true;
    const count = (users().get(this.registry) ?? 0) + 1;
    users().set(this.registry, count);
    if (count > 1) return;
    try {
      this.registry.start();
    } catch (error) {
      this.logger.warn(`could not start the registry; it records only: ${String(error)}`);
    }
  }

  /** Waits for the final publish (bounded by the registry's `timeoutMs`; never rejects). */
  async onApplicationShutdown(): Promise<void> {
    if (!this.managing) return;
    this.managing = false;
    const count = (users().get(this.registry) ?? 1) - 1;
    if (count > 0) {
      users().set(this.registry, count);
      return;
    }
    users().delete(this.registry);
    try {
      // Publish failures are the registry's to report (it warns, rate-limited).
      await this.registry.stop();
    } catch (error) {
      this.logger.warn(`could not stop the registry: ${String(error)}`);
    }
  }
}
