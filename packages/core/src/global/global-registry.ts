import { consoleLogger } from '../internal/rate-limited-logger.js';
import type { RegistryConfig } from '../registry/config.js';
import { Registry } from '../registry/registry.js';
import { configFromEnv } from './env-config.js';
import { installExitFlush } from './exit-flush.js';

/**
 * The key of the process-global registry. It carries the API's major version: two installed
 * copies of the same major (or this package's CJS and ESM builds loaded side by side) share one
 * registry, while a future incompatible major gets its own.
 */
export const GLOBAL_REGISTRY_KEY: unique symbol = Symbol.for('@spectator/core.global-registry.v1');

type GlobalHolder = { [GLOBAL_REGISTRY_KEY]?: Registry };

/**
 * Returns the process-global registry, creating it on first use: configured from the
 * environment as it is at that moment, flushed at exit, and started unless
 * `SPECTATOR_DISABLE_AUTO_START_GLOBAL=1`.
 */
export function getGlobalRegistry(): Registry {
  const holder = globalThis as GlobalHolder;
  const existing = holder[GLOBAL_REGISTRY_KEY];
  if (existing !== undefined) return existing;
  const registry = new Registry(configFromEnv(process.env, consoleLogger));
  holder[GLOBAL_REGISTRY_KEY] = registry;
  installExitFlush(registry);
  if (process.env.SPECTATOR_DISABLE_AUTO_START_GLOBAL !== '1') registry.start();
  return registry;
}

/** The global registry's type: a {@link Registry} whose `configure` merges over the environment. */
export type GlobalRegistryType = Registry;

/**
 * The one process-global {@link Registry}, shared by every adapter and every copy of this
 * package in the process. Configured from `SPECTATOR_URI`, `SPECTATOR_COMMON_TAGS` (`k=v,k=v`)
 * and `SPECTATOR_STEP_MS`, read once, when the package is first imported (a `.env` file loaded
 * after that import is not seen: load it first, or pass the values to `configure()`).
 * `GlobalRegistry.configure({...})` merges more: keys left out (or `undefined`) keep their
 * value, and `commonTags` merge key by key over the environment's. It starts publishing when
 * first imported unless `SPECTATOR_DISABLE_AUTO_START_GLOBAL=1`, never keeps the process alive,
 * and flushes the last interval (within `timeoutMs`) on `beforeExit` and on SIGTERM/SIGINT when
 * the app has no handler of its own.
 *
 * @example
 * ```ts
 * import { GlobalRegistry } from '@spectator/core';
 * GlobalRegistry.configure({ commonTags: { 'nf.app': 'shop' } });
 * GlobalRegistry.counter('server.numRequests').increment();
 * GlobalRegistry.gauge('server.capacity').set(50);
 * ```
 */
export const GlobalRegistry: GlobalRegistryType = getGlobalRegistry();

/** Configures the global registry (same as `GlobalRegistry.configure`). */
export function configureGlobalRegistry(config: RegistryConfig): Registry {
  return getGlobalRegistry().configure(config);
}
