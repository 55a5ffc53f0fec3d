/**
 * `@spectator/core` — Netflix Spectator for Node.js.
 *
 * Meters identified by a name plus tags, aggregated in process and published every few seconds
 * to an Atlas aggregator in the format it accepts.
 *
 * @packageDocumentation
 */
export {
  GlobalRegistry,
  getGlobalRegistry,
  isGlobalRegistry,
  configureGlobalRegistry,
  GLOBAL_REGISTRY_KEY,
} from './global/global-registry.js';
export type { GlobalRegistryType } from './global/global-registry.js';
export { Registry } from './registry/registry.js';
export type { NameOrId } from './registry/registry.js';
export {
  DEFAULT_CONFIG,
  MAX_STEP_MS,
  MAX_TIMEOUT_MS,
  MAX_METER_TTL_MS,
} from './registry/config.js';
export { SecretHeaders } from './outputs/atlas/request-headers.js';
export type { RegistryConfig, ResolvedRegistryConfig } from './registry/config.js';
export type { Measurement } from './registry/measurement.js';
export { Id } from './ids/id.js';
export type { Tags, Tag } from './ids/id.js';
export {
  sanitizeAtlasString,
  atlasTagsProblem,
  MIN_KEY_LENGTH,
  MAX_KEY_LENGTH,
  MIN_NAME_LENGTH,
  MAX_NAME_LENGTH,
  MIN_VALUE_LENGTH,
  MAX_VALUE_LENGTH,
  MAX_USER_TAGS,
  ALLOWED_NF_KEYS,
  ALLOWED_ATLAS_KEYS,
} from './ids/atlas-rules.js';
export { Meter } from './meters/meter.js';
export type { MeterType } from './meters/meter.js';
export { Counter } from './meters/counter.js';
export { Gauge } from './meters/gauge.js';
export { MaxGauge } from './meters/max-gauge.js';
export { DistributionSummary } from './meters/distribution-summary.js';
export { Timer } from './meters/timer.js';
export { PercentileTimer, DEFAULT_PERCENTILE_TIMER_RANGE } from './meters/percentile-timer.js';
export {
  PercentileDistributionSummary,
  DEFAULT_PERCENTILE_SUMMARY_RANGE,
} from './meters/percentile-distribution-summary.js';
export type { PercentileRange } from './meters/percentile-range.js';
export { MonotonicCounter } from './meters/monotonic-counter.js';
export { AgeGauge } from './meters/age-gauge.js';
export { PolledGauge } from './meters/polled-gauge.js';
export {
  PERCENTILE_BUCKET_COUNT,
  percentileBucketIndex,
  percentileBucketBound,
  percentileFromCounts,
  percentileFromFractionalCounts,
} from './meters/percentile-buckets.js';
export type { PublishResult, DropReason } from './outputs/publish-result.js';
export {
  parseOutputLocation,
  DEFAULT_SPECTATORD_UDP,
  DEFAULT_SPECTATORD_UNIX_PATH,
} from './outputs/spectatord/output-location.js';
export type { OutputLocation } from './outputs/spectatord/output-location.js';
export { SpectatorConfigError } from './errors.js';
export type { SpectatorErrorCode } from './errors.js';
export type { SpectatorLogger } from './internal/rate-limited-logger.js';
export type { Clock } from './internal/clock.js';
