/**
 * Atlas's percentile estimate from bucket counts: Spectator's `PercentileBuckets.percentiles`
 * over fractional counts (rates), which Atlas's `:percentiles` runs for every datapoint.
 */
import { PERCENTILE_BUCKET_COUNT, percentileBucketBound } from '../percentile-buckets.js';

/**
 * Writes into `results[i]` the estimate of `pcts[i]` (sorted ascending, each 0…100): walk the
 * buckets up to the last non-empty one accumulating counts; a percentile falls in the first
 * bucket where the cumulative share reaches it and is interpolated linearly between the
 * previous bucket's bound and this one's (`0` where that is undefined). `NaN` when every count
 * is 0. Counts that are not positive finite numbers do not add to the total.
 *
 * @example
 * ```ts
 * const out = new Float64Array(1);
 * estimatePercentiles(counts, [50], out); // counts[i]: how many fell in bucket i
 * ```
 */
export function estimatePercentiles(
  counts: ArrayLike<number>,
  pcts: readonly number[],
  results: Float64Array,
): void {
  let lastNonZero = 0;
  let total = 0;
  for (let i = 0; i < PERCENTILE_BUCKET_COUNT; i++) {
    const c = counts[i] ?? 0;
    if (c > 0 && Number.isFinite(c)) {
      total += c;
      lastNonZero = i;
    }
  }
  let p = 0;
  let prev = 0;
  let prevShare = 0;
  let prevBound = 0;
  for (let i = 0; i <= lastNonZero; i++) {
    const next = prev + (counts[i] ?? 0);
    const nextShare = (100 * next) / total;
    const nextBound = percentileBucketBound(i);
    while (p < pcts.length && nextShare >= (pcts[p] as number)) {
      const f = ((pcts[p] as number) - prevShare) / (nextShare - prevShare);
      results[p] = Number.isNaN(f) ? 0 : f * (nextBound - prevBound) + prevBound;
      p++;
    }
    if (p >= pcts.length) break;
    prev = next;
    prevShare = nextShare;
    prevBound = nextBound;
  }
  const lastBound = percentileBucketBound(lastNonZero);
  for (; p < pcts.length; p++) {
    const f = ((pcts[p] as number) - prevShare) / (100 - prevShare);
    results[p] = f * (lastBound - prevBound) + prevBound;
  }
}
