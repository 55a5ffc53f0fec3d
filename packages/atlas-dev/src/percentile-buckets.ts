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
 * Estimates the `p`th percentile (0–100) from bucket counts as Atlas does: the first bucket
 * where the cumulative share reaches `p`, interpolated linearly between the previous bucket's
 * bound and its own. `NaN` when every count is 0.
 * @example `percentileFromCounts(counts, 99)`
 */
export function percentileFromCounts(counts: ArrayLike<number>, p: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return NaN;
  let cumulative = 0;
  let previousShare = 0;
  let previousBound = 0;
  for (let i = 0; i < PERCENTILE_BUCKET_COUNT; i++) {
    cumulative += counts[i] ?? 0;
    const share = (100 * cumulative) / total;
    const bound = BOUNDS[i]!;
    if (share >= p) {
      const span = share - previousShare;
      const fraction = span > 0 ? (p - previousShare) / span : 0;
      return previousBound + fraction * (bound - previousBound);
    }
    previousShare = share;
    previousBound = bound;
  }
  return previousBound;
}
