import type { Id, Tags } from '../ids/id.js';
import { consoleLogger } from '../internal/rate-limited-logger.js';
import type { Meter } from '../meters/meter.js';
import type { PercentileRange } from '../meters/percentile-range.js';
import type { RegistryConfig } from '../registry/config.js';
import { Registry, type NameOrId } from '../registry/registry.js';
import { autoStartFromEnv, configFromEnv } from './env-config.js';
import { installExitFlush } from './exit-flush.js';

/**
 * The key of the process-global registry. It carries the API's major version: two installed
 * copies of the same major (or this package's CJS and ESM builds loaded side by side) share one
 * registry, while a future incompatible major gets its own.
 */
export const GLOBAL_REGISTRY_KEY: unique symbol = Symbol.for('@spectator/core.global-registry.v1');

type GlobalHolder = { [GLOBAL_REGISTRY_KEY]?: Registry };

/**
 * Marks every copy's `GlobalRegistry` handle (a `Symbol.for` key, so one brand across copies and
 * builds): each copy has a handle object of its own, all standing for the one global registry.
 */
const GLOBAL_HANDLE: unique symbol = Symbol.for('@spectator/core.global-registry-handle.v1');

/**
 * Returns the process-global registry, creating it on first use: configured from the
 * environment as it is at that moment, flushed at exit, and started unless
 * `SPECTATOR_DISABLE_AUTO_START_GLOBAL=1` (or `true`). Adapters call it when they are given no
 * `registry`.
 */
export function getGlobalRegistry(): Registry {
  const holder = globalThis as GlobalHolder;
  const existing = holder[GLOBAL_REGISTRY_KEY];
  if (existing !== undefined) return existing;
  const registry = new Registry(configFromEnv(process.env, consoleLogger));
  holder[GLOBAL_REGISTRY_KEY] = registry;
  installExitFlush(registry);
  if (autoStartFromEnv(process.env, consoleLogger)) registry.start();
  return registry;
}

/** The global registry's type: a {@link Registry} whose `configure` merges over the environment. */
export type GlobalRegistryType = Registry;

/** Every public member of a {@link Registry}: what the lazy handle below must forward. */
type RegistryApi = { [K in keyof Registry]: Registry[K] };

/**
 * `GlobalRegistry` as exported: a handle that creates the process-global registry the first
 * time it is used (any method or property) and forwards to it from then on. Importing the
 * package therefore starts nothing — no registry, no timer, no exit listener, no warning —
 * until the app (or an adapter without a `registry` option) uses it.
 *
 * Each member is written out, so a call costs one direct method call more (no `Proxy`); the
 * `implements` clause makes a member added to `Registry` and forgotten here a compile error. Its
 * prototype is `Registry.prototype`, so `GlobalRegistry instanceof Registry` holds.
 */
class LazyGlobalRegistry implements RegistryApi {
  private registry: Registry | undefined;

  private get real(): Registry {
    return (this.registry ??= getGlobalRegistry());
  }

  get config() {
    return this.real.config;
  }
  get started() {
    return this.real.started;
  }
  configure(config: RegistryConfig): Registry {
    return this.real.configure(config);
  }
  createId(name: string, tags?: Tags): Id {
    return this.real.createId(name, tags);
  }
  counter(name: NameOrId, tags?: Tags) {
    return this.real.counter(name, tags);
  }
  gauge(name: NameOrId, tags?: Tags) {
    return this.real.gauge(name, tags);
  }
  maxGauge(name: NameOrId, tags?: Tags) {
    return this.real.maxGauge(name, tags);
  }
  distributionSummary(name: NameOrId, tags?: Tags) {
    return this.real.distributionSummary(name, tags);
  }
  timer(name: NameOrId, tags?: Tags) {
    return this.real.timer(name, tags);
  }
  percentileTimer(name: NameOrId, tags?: Tags, range?: PercentileRange) {
    return this.real.percentileTimer(name, tags, range);
  }
  percentileDistributionSummary(name: NameOrId, tags?: Tags, range?: PercentileRange) {
    return this.real.percentileDistributionSummary(name, tags, range);
  }
  monotonicCounter(name: NameOrId, tags?: Tags) {
    return this.real.monotonicCounter(name, tags);
  }
  ageGauge(name: NameOrId, tags?: Tags) {
    return this.real.ageGauge(name, tags);
  }
  polledGauge(name: NameOrId, tags: Tags | undefined, fn: () => number) {
    return this.real.polledGauge(name, tags, fn);
  }
  remove(meter: Meter): void {
    this.real.remove(meter);
  }
  meters() {
    return this.real.meters();
  }
  measurements() {
    return this.real.measurements();
  }
  start(): Registry {
    return this.real.start();
  }
  publish() {
    return this.real.publish();
  }
  stop() {
    return this.real.stop();
  }
  releaseConnections() {
    return this.real.releaseConnections();
  }
  writtenLines(clear?: boolean) {
    return this.real.writtenLines(clear);
  }
  hasUnpublishedUpdates() {
    return this.real.hasUnpublishedUpdates();
  }
  noteExit(): void {
    this.real.noteExit();
  }
}
Object.setPrototypeOf(LazyGlobalRegistry.prototype, Registry.prototype);
Object.defineProperty(LazyGlobalRegistry.prototype, GLOBAL_HANDLE, { value: true });

/**
 * The one process-global {@link Registry}, shared by every adapter and every copy of this
 * package in the process, created when first used (not when imported). Configured from
 * `SPECTATOR_URI`, `SPECTATOR_COMMON_TAGS` (`k=v,k=v`), `SPECTATOR_STEP_MS` and the Netflix
 * environment, read then: load a `.env` file before the first use, or pass the values to
 * `configure()`. `GlobalRegistry.configure({...})` merges more: keys left out (or `undefined`)
 * keep their value, and `commonTags` merge key by key over the environment's. It starts
 * publishing when created unless `SPECTATOR_DISABLE_AUTO_START_GLOBAL=1` (or `true`), never keeps
 * the process alive, and flushes the last interval (within `timeoutMs`) on `beforeExit` and on
 * SIGTERM/SIGINT when the app has no handler of its own.
 *
 * @example
 * ```ts
 * import { GlobalRegistry } from '@spectator/core';
 * GlobalRegistry.configure({ commonTags: { 'nf.app': 'shop' } });
 * GlobalRegistry.counter('server.numRequests').increment();
 * GlobalRegistry.gauge('server.capacity').set(50);
 * ```
 */
export const GlobalRegistry: GlobalRegistryType = new LazyGlobalRegistry() as unknown as Registry;

/**
 * True for the process-global registry, as `GlobalRegistry` or as returned by
 * `getGlobalRegistry()` — without creating it. For code that treats it differently (an adapter
 * that starts and stops a registry it is given leaves the global one alone).
 *
 * @example `if (!isGlobalRegistry(options.registry)) await options.registry.stop();`
 */
export function isGlobalRegistry(registry: unknown): boolean {
  return (
    isGlobalHandle(registry) ||
    (registry !== undefined && registry === (globalThis as GlobalHolder)[GLOBAL_REGISTRY_KEY])
  );
}

/**
 * The registry `registry` stands for: the global registry for any copy's `GlobalRegistry`
 * handle, else `registry` itself. What code that keeps one thing per registry (a runtime
 * collector, a client subscription) must key by: `startRuntimeMetrics(GlobalRegistry)` and
 * `startRuntimeMetrics()` (or two copies' handles) are one registry, not two.
 */
export function registryBehind(registry: Registry): Registry {
  return isGlobalHandle(registry) ? getGlobalRegistry() : registry;
}

function isGlobalHandle(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [GLOBAL_HANDLE]?: unknown })[GLOBAL_HANDLE] === true
  );
}

/** Configures the global registry (same as `GlobalRegistry.configure`). */
export function configureGlobalRegistry(config: RegistryConfig): Registry {
  return getGlobalRegistry().configure(config);
}
