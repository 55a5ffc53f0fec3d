/**
 * Spectator's fixed percentile buckets, bit-exact with Java's
 * `com.netflix.spectator.api.histogram.PercentileBuckets` (spectator-api).
 *
 * Every Spectator client (Java, Go, C++, Python, …) counts values into the same 276 buckets and
 * publishes each non-empty bucket as a counter tagged `percentile=T00XX` / `D00XX`. Atlas sums
 * those counters across instances and estimates percentiles from the merged counts. That only
 * works if every client puts a given value into the same bucket, so the table and `indexOf` here
 * reproduce Java's 64-bit `long` arithmetic exactly, including its quirks (see
 * {@link percentileBucketIndex}).
 *
 * @packageDocumentation
 */

/** Java's `Long.MAX_VALUE`; the last bucket's bound. */
const LONG_MAX = 0x7fffffffffffffffn;

/** Values at or above 2^53 are not all representable as doubles, so they take the BigInt path. */
const TWO_POW_53 = 2 ** 53;

/**
 * Any value ≥ 2^62 lands in the last bucket: Java computes `pos = offset + POWER_OF_4_INDEX[31]`
 * with `POWER_OF_4_INDEX[31] = 275`, which is always clamped to 275. Short-circuiting here also
 * covers `Infinity` and doubles beyond `Long.MAX_VALUE` (which Java's `(long)` cast saturates).
 */
const TWO_POW_62 = 2 ** 62;

/** 2^32, to split a double below 2^53 into 32-bit halves for `Math.clz32`. */
const TWO_POW_32 = 2 ** 32;

/**
 * Bucket table, generated exactly like Java's static initialiser. Generation uses BigInt with
 * `BigInt.asIntN(64, …)` so that Java's `long` overflow is reproduced: for exponent 62,
 * `current << 2` is 2^64, which wraps to 0 in Java, making `next` negative, so no buckets are
 * added for 4^31. That is why the table has 276 entries rather than 285 and why the last real
 * group ends at 4227378850225105576 before jumping to `Long.MAX_VALUE`.
 */
function generate(): { bounds: bigint[]; powerOf4Index: number[] } {
  const bounds: bigint[] = [1n, 2n, 3n];
  const powerOf4Index: number[] = [0];
  // Java: DIGITS = 2; exp goes 2, 4, …, 62 (`while (exp < 64)`).
  for (let exp = 2n; exp < 64n; exp += 2n) {
    let current = BigInt.asIntN(64, 1n << exp);
    const delta = current / 3n; // Java long division truncates; current > 0 so this is floor.
    const next = BigInt.asIntN(64, BigInt.asIntN(64, current << 2n) - delta);
    powerOf4Index.push(bounds.length);
    while (current < next) {
      bounds.push(current);
      current = BigInt.asIntN(64, current + delta);
    }
  }
  bounds.push(LONG_MAX);
  return { bounds, powerOf4Index };
}

const GENERATED = generate();

/** Number of percentile buckets (276), the same as Java's `PercentileBuckets.length()`. */
export const PERCENTILE_BUCKET_COUNT: number = GENERATED.bounds.length;

/** Index of the last bucket (275), where everything ≥ 2^62 and all overflow goes. */
const LAST_INDEX = PERCENTILE_BUCKET_COUNT - 1;

/** Exact bucket bounds as Java longs. A `BigInt64Array` is literally Java's `long[]`. */
const BOUNDS_EXACT = BigInt64Array.from(GENERATED.bounds);

/**
 * Bucket bounds as doubles (`Number(bigint)` rounds to nearest, ties to even, exactly like Java's
 * `(double) long` conversion). Exact up to index 233 (2^53 - 1); above that they are the nearest
 * double, e.g. the last one is 2^63 rather than 2^63 - 1.
 */
const BOUNDS = Float64Array.from(GENERATED.bounds, (b) => Number(b));

/**
 * `(double) (bound[i] - bound[i - 1])` with the subtraction done exactly, as Java does it in
 * `percentiles()` (`nextB - prevB` is a `long` subtraction converted afterwards). Subtracting the
 * rounded doubles instead would differ from Java in the last bits for bounds above 2^53.
 * `WIDTHS[0]` is `bound[0] - 0` because Java starts with `prevB = 0`.
 */
const WIDTHS = Float64Array.from(GENERATED.bounds, (b, i) =>
  Number(b - (i > 0 ? GENERATED.bounds[i - 1]! : 0n)),
);

/**
 * `POWER_OF_4_INDEX[e / 2]` is the table index where the group for 4^(e/2) starts (0 for the
 * 1, 2, 3 base group). Lets `indexOf` jump straight to a group instead of searching the table.
 */
const POWER_OF_4_INDEX = Int32Array.from(GENERATED.powerOf4Index);

/** `4^k` as doubles for k ≤ 26 (4^26 = 2^52), the groups reachable below 2^53; all exact. */
const POWER_OF_4 = Float64Array.from({ length: 27 }, (_, k) => 4 ** k);

/** `floor(4^k / 3)` for k ≤ 26: at most ~1.5·2^50, so exact as doubles. */
const POWER_OF_4_DELTA = Float64Array.from({ length: 27 }, (_, k) =>
  Number((1n << BigInt(2 * k)) / 3n),
);

/**
 * Upper bound of bucket `i` as a double, for interpolation and display. Bounds above 2^53 are
 * rounded to the nearest double (the last, `Long.MAX_VALUE`, reads as 2^63); use
 * {@link percentileBucketBoundExact} when the exact integer matters.
 *
 * @param i - bucket index, `0 <= i < PERCENTILE_BUCKET_COUNT`
 * @throws RangeError when `i` is not a valid index (Java would throw `ArrayIndexOutOfBoundsException`)
 */
export function percentileBucketBound(i: number): number {
  const b = BOUNDS[i];
  if (b === undefined) throw new RangeError(`percentile bucket index out of range: ${String(i)}`);
  return b;
}

/**
 * Exact upper bound of bucket `i` as a signed 64-bit integer, identical to Java's
 * `PercentileBuckets.get(i)`.
 *
 * @param i - bucket index, `0 <= i < PERCENTILE_BUCKET_COUNT`
 * @throws RangeError when `i` is not a valid index
 */
export function percentileBucketBoundExact(i: number): bigint {
  const b = BOUNDS_EXACT[i];
  if (b === undefined) throw new RangeError(`percentile bucket index out of range: ${String(i)}`);
  return b;
}

/**
 * Index of the bucket for `v`, identical to Java's `PercentileBuckets.indexOf(long)`.
 *
 * This is the hot path (called on every percentile timer / summary record), so for `v < 2^53` it
 * uses only double and 32-bit integer math: no allocation and no BigInt. Larger values are rare
 * and take the exact BigInt path ({@link percentileBucketIndexExact}); a double that large is
 * always an integer, so the conversion is exact.
 *
 * Callers are expected to pass integers (nanoseconds, rounded amounts). A non-integer is
 * truncated toward zero, the way Java's `(long)` cast would; `NaN`, negatives and values below 1
 * give 0, and `Infinity` (or anything ≥ 2^62) gives 275.
 *
 * Note Java's semantics, reproduced here: the result `i` satisfies `v <= bound(i)` (Java's own
 * test checks exactly that) but the buckets behave as half-open `[bound(i-1), bound(i))`, so a
 * value equal to a bound goes to the *next* bucket (`indexOf(16) = 15`, bound 21), and values
 * just below a power of 4 can skip a bucket (`indexOf(15) = 15` too, although bound(14) = 16).
 */
export function percentileBucketIndex(v: number): number {
  // `!(v >= 1)` also catches NaN; (0, 1) truncates to 0 in Java.
  if (!(v >= 1)) return 0;
  if (v >= TWO_POW_53) {
    return v >= TWO_POW_62 ? LAST_INDEX : percentileBucketIndexExact(BigInt(v));
  }
  const n = Math.floor(v); // v > 0, so floor is Java's truncation
  if (n <= 4) return n;

  // Position of the highest set bit (Java: 63 - numberOfLeadingZeros). n < 2^53 so the high
  // half fits in 21 bits and both halves are exact.
  const hi = (n / TWO_POW_32) >>> 0;
  const shift = hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(n >>> 0);
  // Round down to an even exponent: Java drops to the previous power of 4 when shift is odd.
  const k = shift >> 1;
  const base = POWER_OF_4[k]!;
  const delta = POWER_OF_4_DELTA[k]!;
  const d = n - base; // exact: both are integers below 2^53
  // The quotient is < 12, and a rounded double division can only overshoot an exact floor by
  // one (when d/delta is within half an ulp below an integer, possible once delta > 2^50), so
  // correct it with an exact multiply: offset * delta <= d + delta < 2^53.
  let offset = Math.floor(d / delta);
  if (offset * delta > d) offset--;
  const pos = offset + POWER_OF_4_INDEX[k]!;
  return pos >= LAST_INDEX ? LAST_INDEX : pos + 1;
}

/**
 * Exact index of the bucket for a signed 64-bit value, a direct transcription of Java's
 * `PercentileBuckets.indexOf(long)` in BigInt. Values `<= 0` give 0; values above
 * `Long.MAX_VALUE` (which Java cannot represent) are clamped to the last bucket, 275.
 */
export function percentileBucketIndexExact(v: bigint): number {
  if (v <= 0n) return 0;
  if (v <= 4n) return Number(v);
  if (v >= LONG_MAX) return LAST_INDEX;
  // 63 - Long.numberOfLeadingZeros(v). Allocates, but this path only runs for v >= 2^53.
  let shift = v.toString(2).length - 1;
  if (shift % 2 !== 0) shift--;
  const base = 1n << BigInt(shift);
  const delta = base / 3n;
  const offset = Number((v - base) / delta);
  const pos = offset + POWER_OF_4_INDEX[shift / 2]!;
  return pos >= LAST_INDEX ? LAST_INDEX : pos + 1;
}

/** Java's argument checks of `percentiles`, as `RangeError`s. */
function checkLengths(
  counts: ArrayLike<number>,
  pcts: ArrayLike<number>,
  results: ArrayLike<number>,
): void {
  if (counts.length !== PERCENTILE_BUCKET_COUNT) {
    throw new RangeError('counts is not the same size as buckets array');
  }
  if (pcts.length === 0) throw new RangeError('pct array cannot be empty');
  if (pcts.length !== results.length) {
    throw new RangeError('pcts is not the same size as results array');
  }
}

/**
 * Estimates several percentiles from bucket counts, a line-by-line port of Java's
 * `PercentileBuckets.percentiles(long[], double[], double[])`.
 *
 * For each wanted percentile it finds the first bucket where the cumulative percentage reaches
 * it and interpolates linearly between the previous bucket's bound (0 before the first bucket)
 * and this bucket's bound. Results are bit-identical to Java's when the counts are integers whose
 * total is below 2^53 (Java sums `long`s; here the sum is a double, exact in that range).
 *
 * Java behaviours kept on purpose, since Atlas users compare numbers across clients:
 * - no values at all (total 0): every result is `NaN`. Java gets there too, via `0.0 / 0` for
 *   every cumulative percentage, so this is not a deviation.
 * - an undefined interpolation fraction inside the walk (`(p - prevP) / (nextP - prevP)` is
 *   `0 / 0`: `p = 0` when the first buckets are empty) gives `0.0`, as Java's current code
 *   checks for it.
 * - `p > 100`: `NaN` (the tail step multiplies an infinite fraction by a zero width).
 *
 * Use it for integer counts (what the meters hold); {@link percentilesFromFractionalCounts} is
 * Java's variant for fractional ones.
 *
 * @param counts - one count per bucket; length must be {@link PERCENTILE_BUCKET_COUNT}
 * @param pcts - wanted percentiles in `[0, 100]`, sorted ascending, at least one
 * @param results - receives one estimate per entry of `pcts`; same length as `pcts`
 * @throws RangeError when the lengths do not match, mirroring Java's `IllegalArgumentException`
 */
export function percentilesFromCounts(
  counts: ArrayLike<number>,
  pcts: ArrayLike<number>,
  results: Float64Array | number[],
): void {
  checkLengths(counts, pcts, results);
  let total = 0;
  for (let i = 0; i < PERCENTILE_BUCKET_COUNT; i++) total += counts[i]!;
  // Java walks every bucket; its tail goes towards Long.MAX_VALUE, the last bucket's bound.
  interpolate(counts, pcts, results, total, PERCENTILE_BUCKET_COUNT - 1);
}

/**
 * Java's walk over the buckets up to `last` (inclusive), shared by both variants: for each
 * wanted percentile, the first bucket whose cumulative share reaches it, interpolated linearly
 * between the previous bucket's bound (0 before the first) and its own; `0.0` where the fraction
 * is undefined. A percentile not reached by `last` goes to Java's tail, towards `last`'s bound:
 * the walk only falls through after visiting `last`, so prevB is that bound and Java's
 * `nextB - prevB` is exactly 0: the result is the bound for a finite fraction, NaN for an
 * infinite or NaN one (p > 100, or no counts at all).
 */
function interpolate(
  counts: ArrayLike<number>,
  pcts: ArrayLike<number>,
  results: Float64Array | number[],
  total: number,
  last: number,
): void {
  const n = pcts.length;
  let pctIdx = 0;
  let prev = 0;
  let prevP = 0;
  let prevB = 0;
  for (let i = 0; i <= last; i++) {
    // Java adds every count here, also ones the fractional variant left out of the total.
    const next = prev + counts[i]!;
    const nextP = (100 * next) / total;
    const nextB = BOUNDS[i]!;
    while (pctIdx < n && nextP >= pcts[pctIdx]!) {
      const f = (pcts[pctIdx]! - prevP) / (nextP - prevP);
      // Java: f * (nextB - prevB) + prevB, with the subtraction exact in long arithmetic.
      results[pctIdx] = f !== f ? 0 : f * WIDTHS[i]! + prevB;
      ++pctIdx;
    }
    if (pctIdx >= n) return;
    prev = next;
    prevP = nextP;
    prevB = nextB;
  }
  while (pctIdx < n) {
    const f = (pcts[pctIdx]! - prevP) / (100 - prevP);
    results[pctIdx] = f * 0 + prevB;
    ++pctIdx;
  }
}

/**
 * Estimates several percentiles from fractional bucket counts (relative amounts, such as counts
 * averaged or scaled across instances), a port of Java's
 * `PercentileBuckets.percentiles(double[], double[], double[])`. It differs from
 * {@link percentilesFromCounts} as Java's does: only positive finite counts make up the total,
 * the walk stops at the last non-empty bucket, and a percentile not reached by then (rounding
 * left the cumulative share just under 100) is that bucket's bound, not `Long.MAX_VALUE`. An
 * undefined interpolation fraction gives `0.0`.
 *
 * @example
 * ```ts
 * const counts = new Float64Array(PERCENTILE_BUCKET_COUNT);
 * counts[15] = 0.5; // (16, 21]
 * percentileFromFractionalCounts(counts, 100); // 21
 * ```
 *
 * @param counts - one non-negative amount per bucket; length {@link PERCENTILE_BUCKET_COUNT}
 * @param pcts - wanted percentiles in `[0, 100]`, sorted ascending, at least one
 * @param results - receives one estimate per entry of `pcts`; same length as `pcts`
 * @throws RangeError when the lengths do not match, mirroring Java's `IllegalArgumentException`
 */
export function percentilesFromFractionalCounts(
  counts: ArrayLike<number>,
  pcts: ArrayLike<number>,
  results: Float64Array | number[],
): void {
  checkLengths(counts, pcts, results);
  let lastNonZero = 0;
  let total = 0;
  for (let i = 0; i < PERCENTILE_BUCKET_COUNT; i++) {
    const c = counts[i]!;
    if (c > 0 && c < Infinity) {
      total += c;
      lastNonZero = i;
    }
  }
  interpolate(counts, pcts, results, total, lastNonZero);
}

/**
 * One percentile from fractional bucket counts, like Java's
 * `PercentileBuckets.percentile(double[], double)`; see {@link percentilesFromFractionalCounts}.
 */
export function percentileFromFractionalCounts(counts: ArrayLike<number>, p: number): number {
  ONE_PCT[0] = p;
  percentilesFromFractionalCounts(counts, ONE_PCT, ONE_RESULT);
  return ONE_RESULT[0]!;
}

// Scratch arrays so the single-percentile helper does not allocate; safe because the work is
// synchronous and never re-entrant.
const ONE_PCT = new Float64Array(1);
const ONE_RESULT = new Float64Array(1);

/**
 * Estimates one percentile from bucket counts, like Java's `PercentileBuckets.percentile`.
 *
 * @param counts - one count per bucket; length must be {@link PERCENTILE_BUCKET_COUNT}
 * @param p - percentile in `[0, 100]`
 * @returns the estimate, or `NaN` when the counts are all zero (Java also yields `NaN` there,
 *   see {@link percentilesFromCounts})
 */
export function percentileFromCounts(counts: ArrayLike<number>, p: number): number {
  ONE_PCT[0] = p;
  percentilesFromCounts(counts, ONE_PCT, ONE_RESULT);
  return ONE_RESULT[0]!;
}

const TAG_VALUES_CACHE = new Map<string, readonly string[]>();

/**
 * Tag values for the `percentile` dimension: `prefix` + the bucket index as 4 upper-case hex
 * digits (`T0000` … `T0113`), exactly Java's `String.format("T%04X", i)`. `T` is used by
 * percentile timers and `D` by percentile distribution summaries. Built once per prefix and
 * frozen, because meters look them up on every publish and must not rebuild strings.
 */
export function percentileTagValues(prefix: 'T' | 'D'): readonly string[] {
  let values = TAG_VALUES_CACHE.get(prefix);
  if (values === undefined) {
    const list: string[] = [];
    for (let i = 0; i < PERCENTILE_BUCKET_COUNT; i++) {
      list.push(prefix + i.toString(16).toUpperCase().padStart(4, '0'));
    }
    values = Object.freeze(list);
    TAG_VALUES_CACHE.set(prefix, values);
  }
  return values;
}
