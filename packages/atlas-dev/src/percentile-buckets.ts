/**
 * Spectator's 276 percentile bucket bounds and the percentile estimate Atlas makes from their
 * counts, for showing `percentile=T00XX` / `D00XX` series as p50/p90/p99.
 *
 * The endpoint stands in for the aggregator and Atlas, so it keeps its own copy of the bucket
 * table rather than importing the client's (as Atlas's backend does): a client whose buckets
 * drifted would then show up in tests as wrong percentiles instead of agreeing with itself.
 * Display only: bounds above 2^53 are the nearest doubles.
 */

/** Bucket upper bounds: 1, 2, 3, then for each even exponent 2…62 steps of `floor(4^k / 3)`. */
function generateBounds(): Float64Array {
  const bounds: bigint[] = [1n, 2n, 3n];
  for (let exp = 2n; exp < 64n; exp += 2n) {
    let current = BigInt.asIntN(64, 1n << exp);
    const delta = current / 3n;
    // Java's `long` arithmetic: for exp 62, `current << 2` wraps to 0 and the group is empty.
    const next = BigInt.asIntN(64, BigInt.asIntN(64, current << 2n) - delta);
    while (current < next) {
      bounds.push(current);
      current = BigInt.asIntN(64, current + delta);
    }
  }
  bounds.push(0x7fffffffffffffffn);
  return Float64Array.from(bounds, (b) => Number(b));
}

const BOUNDS = generateBounds();

/** Number of percentile buckets (276). */
export const PERCENTILE_BUCKET_COUNT: number = BOUNDS.length;

/**
 * Upper bound of bucket `i` (nanoseconds for timers).
 * @example `percentileBucketBound(0x5f)`
 */
export function percentileBucketBound(i: number): number {
  const bound = BOUNDS[i];
  if (bound === undefined) throw new RangeError(`percentile bucket index out of range: ${i}`);
  return bound;
}

/**
 * The bucket a value is counted in: the first whose bound is above `v` (a value equal to a
 * bound goes to the next bucket, as Spectator counts it); 0 for `v < 1`.
 * @example `percentileBucketIndex(40e6)` // the bucket of a 40 ms duration
 */
export function percentileBucketIndex(v: number): number {
  if (!(v >= 1)) return 0;
  let low = 0;
  let high = BOUNDS.length - 1;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (BOUNDS[mid]! > v) high = mid;
    else low = mid + 1;
  }
  return low;
}

/**
 * Atlas's percentile estimate from bucket counts, for several percentiles at once: Spectator's
 * `PercentileBuckets.percentiles(double[] counts, …)`, which Atlas's `:percentiles` runs on
 * every datapoint (the counts are rates there) and the table runs on counts. Writes into
 * `results[i]` the estimate of `pcts[i]` (sorted ascending, each 0…100): walk the buckets up to
 * the last non-empty one accumulating counts; a percentile falls in the first bucket where the
 * cumulative share reaches it and is interpolated linearly between the previous bucket's bound
 * and this one's (`0` where that is undefined); one past the last share is interpolated towards
 * the last non-empty bucket's bound. `NaN` when no count is positive. Counts that are not
 * positive finite numbers do not add to the total.
 *
 * @example
 * ```ts
 * const out = new Float64Array(2);
 * percentilesFromCounts(counts, [50, 99], out); // counts[i]: how many fell in bucket i
 * ```
 */
export function percentilesFromCounts(
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
    const nextBound = BOUNDS[i]!;
    while (p < pcts.length && nextShare >= pcts[p]!) {
      const f = (pcts[p]! - prevShare) / (nextShare - prevShare);
      results[p] = Number.isNaN(f) ? 0 : f * (nextBound - prevBound) + prevBound;
      p++;
    }
    if (p >= pcts.length) break;
    prev = next;
    prevShare = nextShare;
    prevBound = nextBound;
  }
  const lastBound = BOUNDS[lastNonZero]!;
  for (; p < pcts.length; p++) {
    const f = (pcts[p]! - prevShare) / (100 - prevShare);
    results[p] = f * (lastBound - prevBound) + prevBound;
  }
}

/**
 * The `p`th percentile (0–100) of bucket counts as Atlas estimates it ({@link percentilesFromCounts}).
 * @example `percentileFromCounts(counts, 99)`
 */
export function percentileFromCounts(counts: ArrayLike<number>, p: number): number {
  const result = new Float64Array(1);
  percentilesFromCounts(counts, [p], result);
  return result[0]!;
}
