import { atlasTagsProblem, sanitizeAtlasString } from '../ids/atlas-rules.js';
import type { Meter } from '../meters/meter.js';

/** Tag keys a meter fills in itself; a user tag with one of these names is replaced. */
const RESERVED_KEYS = new Set(['statistic', 'percentile']);

// The longest statistic value, so validation sees the tag count and lengths of the worst case.
const STATISTIC_PAIR = ['statistic', 'totalOfSquares'] as const;
const PERCENTILE_PAIR = ['percentile', 'T0000'] as const;

/**
 * Computes, once per meter and configuration, the flat `[k0, v0, k1, v1, …]` tag list the
 * publisher sends: common tags, overridden by the meter's own tags, plus `name`, all sanitized to
 * Atlas's character set. It also records whether Atlas would reject the id, so an invalid meter is
 * dropped (and counted) before the request rather than by the aggregator.
 */
export function resolvePublishTags(
  meter: Meter,
  commonTags: Readonly<Record<string, string>>,
  configVersion: number,
): void {
  if (meter.publishTagsVersion === configVersion) return;
  const merged = new Map<string, string>();
  for (const key in commonTags) {
    // Reserved keys are the meter's to fill in, whoever else sets them: sent twice, Atlas would
    // reject every measurement for a duplicate tag key.
    if (!RESERVED_KEYS.has(key))
      merged.set(sanitizeAtlasString(key), sanitizeAtlasString(commonTags[key]!));
  }
  for (const [key, value] of meter.id.tags) {
    if (!RESERVED_KEYS.has(key)) merged.set(sanitizeAtlasString(key), sanitizeAtlasString(value));
  }
  merged.set('name', sanitizeAtlasString(meter.id.name));
  const pairs = [...merged].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const withStatistic: (readonly [string, string])[] = [...pairs, STATISTIC_PAIR];
  if (meter.type === 'percentile-timer' || meter.type === 'percentile-distribution-summary') {
    withStatistic.push(PERCENTILE_PAIR);
  }
  meter.publishProblem = atlasTagsProblem(withStatistic);
  meter.publishTags = pairs.flat();
  meter.publishTagsVersion = configVersion;
}
