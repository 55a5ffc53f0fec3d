/**
 * `@spectator/core/runtime` — Node.js runtime metrics under the names, tags and units of
 * Netflix's `spectator-js-nodejsmetrics`, without a native addon.
 *
 * @example
 * ```ts
 * import { startRuntimeMetrics } from '@spectator/core/runtime';
 * const stop = startRuntimeMetrics(); // GlobalRegistry; unref'd timers
 * ```
 *
 * @packageDocumentation
 */
export { startRuntimeMetrics, type RuntimeMetricsOptions } from './runtime-metrics.js';
export { GC_KIND_IDS } from './gc-metrics.js';
