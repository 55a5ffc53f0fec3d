import { atlasTagsProblem, sanitizeAtlasString } from '../../ids/atlas-rules.js';
import type { Id } from '../../ids/id.js';
import type { Meter } from '../../meters/meter.js';

/**
 * Tag keys filled in for every measurement, never taken from the user or the common tags:
 * `statistic` and `percentile` by the meter type, `atlas.dstype` by the aggregator (from the op:
 * it replaces whatever a client sends).
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  'statistic',
  'percentile',
  'atlas.dstype',
]);

// The tags the encoder adds to each measurement, as validation sees them: only their number and
// lengths matter, so the longest statistic value stands for every statistic of the group.
const STATISTIC_PAIR = ['statistic', 'totalOfSquares'] as const;
const BUCKET_STATISTIC_PAIR = ['statistic', 'percentile'] as const;
const PERCENTILE_PAIR = ['percentile', 'T0000'] as const;

/** Where {@link resolvePublishTags} reports left-out reserved tags (a `RateLimitedLogger`). */
export interface PublishTagWarnings {
  warn(key: string, message: string | (() => string)): void;
}

/** A meter's tags as published: sorted `[key, value]` pairs, and the reserved tags left out. */
export interface PublishedPairs {
  pairs: [string, string][];
  /** `tag statistic=x` / `common tag percentile=y`: user or common tags under a reserved key. */
  leftOut: string[] | undefined;
}

/**
 * The tags an id is published with: common tags, overridden by the id's own tags, plus `name`,
 * all sanitized to Atlas's character set and sorted by key; `statistic` and `percentile` tags of
 * the user or the common tags are left out (the meter type fills them in).
 *
 * @example
 * ```ts
 * publishedPairs(Id.create('a b', { route: '/x' }), { 'nf.app': 'shop' }).pairs;
 * // [['name', 'a_b'], ['nf.app', 'shop'], ['route', '_x']]
 * ```
 */
export function publishedPairs(
  id: Id,
  commonTags: Readonly<Record<string, string>>,
): PublishedPairs {
  const merged = new Map<string, string>();
  let leftOut: string[] | undefined;
  for (const key in commonTags) {
    const value = commonTags[key]!;
    if (RESERVED_KEYS.has(key)) (leftOut ??= []).push(`common tag ${key}=${value}`);
    else merged.set(sanitizeAtlasString(key), sanitizeAtlasString(value));
  }
  for (const [key, value] of id.tags) {
    if (RESERVED_KEYS.has(key)) (leftOut ??= []).push(`tag ${key}=${value}`);
    else merged.set(sanitizeAtlasString(key), sanitizeAtlasString(value));
  }
  merged.set('name', sanitizeAtlasString(id.name));
  const pairs = [...merged].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { pairs, leftOut };
}

/**
 * Why the aggregator would reject the measurements of an id that do not carry a `percentile`
 * tag (all of them, for most meters), given its published pairs; `undefined` when it would not.
 */
export function statisticsProblem(
  pairs: readonly (readonly [string, string])[],
): string | undefined {
  return atlasTagsProblem([...pairs, STATISTIC_PAIR]);
}

/**
 * Why the aggregator would reject the bucket counters of a percentile meter, given its published
 * pairs (they carry one tag more than its statistics); `undefined` when it would not.
 */
export function bucketsProblem(pairs: readonly (readonly [string, string])[]): string | undefined {
  return atlasTagsProblem([...pairs, BUCKET_STATISTIC_PAIR, PERCENTILE_PAIR]);
}

/** How a meter is published, computed once per meter and configuration by {@link resolvePublishTags}. */
export interface PublishedTags {
  /** The flat `[k0, v0, k1, v1, …]` tags every measurement of the meter carries. */
  readonly tags: readonly string[];
  /**
   * Why the aggregator would reject the measurements without a `percentile` tag (all of them,
   * for most meters), when it would.
   */
  readonly statisticsProblem: string | undefined;
  /**
   * Why it would reject the bucket counters of a percentile meter: they carry one tag more
   * (`percentile`), so an id at the user-tag limit loses only its buckets.
   */
  readonly bucketsProblem: string | undefined;
}

/**
 * The flat tag list the publisher sends for `meter` (common tags, overridden by the meter's own
 * tags, plus `name`, all sanitized to Atlas's character set), and whether the aggregator would
 * reject its measurements, per group: so an invalid meter is dropped (and counted) before the
 * request rather than by the aggregator.
 *
 * A user or common tag named `statistic` or `percentile` is left out (the meter type fills these
 * in; sent twice, Atlas would reject the measurement for a duplicate key) and, when `warnings` is
 * given, reported once (rate-limited) with the id: two ids that differ only there publish as one
 * series.
 *
 * @example
 * ```ts
 * const published = resolvePublishTags(meter, config.atlasCommonTags, warnings);
 * const problem = percentile === undefined ? published.statisticsProblem : published.bucketsProblem;
 * ```
 */
export function resolvePublishTags(
  meter: Meter,
  commonTags: Readonly<Record<string, string>>,
  warnings?: PublishTagWarnings,
): PublishedTags {
  const { pairs, leftOut } = publishedPairs(meter.id, commonTags);
  const statistics = statisticsProblem(pairs);
  const buckets =
    meter.type === 'percentile-timer' || meter.type === 'percentile-distribution-summary'
      ? bucketsProblem(pairs)
      : statistics;
  if (leftOut !== undefined && warnings !== undefined) {
    const what = leftOut.join(', ');
    warnings.warn(
      'reserved-tag-key',
      () =>
        `${meter.id.toString()}: ${what} not published; statistic and percentile are filled in by the meter type and atlas.dstype by the aggregator, so ids differing only there publish as one series`,
    );
  }
  return { tags: pairs.flat(), statisticsProblem: statistics, bucketsProblem: buckets };
}
