import { describe, it, expect } from 'vitest';
import {
  PERCENTILE_BUCKET_COUNT,
  percentileBucketBound,
  percentileBucketBoundExact,
  percentileBucketIndex,
  percentileBucketIndexExact,
  percentileFromCounts,
  percentileFromFractionalCounts,
  percentilesFromCounts,
  percentilesFromFractionalCounts,
  percentileTagValues,
} from '../src/meters/percentile-buckets';
import { Registry } from '../src/registry/registry.js';

// ---------------------------------------------------------------------------------------------
// Independent references, written straight from Java's PercentileBuckets source with BigInt
// standing in for `long`. Kept deliberately naive so they can be trusted by reading.
// ---------------------------------------------------------------------------------------------

const LONG_MAX = (1n << 63n) - 1n;
const long = (x: bigint): bigint => BigInt.asIntN(64, x);

/** Java's static initialiser. */
function referenceTable(): { values: bigint[]; powerOf4Index: number[] } {
  const values: bigint[] = [1n, 2n, 3n];
  const powerOf4Index: number[] = [0];
  let exp = 2;
  while (exp < 64) {
    let current = long(1n << BigInt(exp));
    const delta = current / 3n;
    const next = long(long(current << 2n) - delta);
    powerOf4Index.push(values.length);
    while (current < next) {
      values.push(current);
      current = long(current + delta);
    }
    exp += 2;
  }
  values.push(LONG_MAX);
  return { values, powerOf4Index };
}

const REF = referenceTable();

/** Java's Long.numberOfLeadingZeros for a positive long. */
function numberOfLeadingZeros(v: bigint): number {
  let n = 64;
  while (v > 0n) {
    v >>= 1n;
    n--;
  }
  return n;
}

/** Java's PercentileBuckets.indexOf(long), for v in the signed 64-bit range. */
function referenceIndexOf(v: bigint): number {
  if (v <= 0n) return 0;
  if (v <= 4n) return Number(v);
  const lz = numberOfLeadingZeros(v);
  let shift = 64 - lz - 1;
  const prevPowerOf2 = (v >> BigInt(shift)) << BigInt(shift);
  let prevPowerOf4 = prevPowerOf2;
  if (shift % 2 !== 0) {
    shift--;
    prevPowerOf4 = prevPowerOf2 >> 1n;
  }
  const base = prevPowerOf4;
  const delta = base / 3n;
  const offset = Number((v - base) / delta);
  const pos = offset + REF.powerOf4Index[shift / 2]!;
  return pos >= REF.values.length - 1 ? REF.values.length - 1 : pos + 1;
}

/** Java's PercentileBuckets.percentiles, with `long` bounds kept exact until Java converts them. */
function referencePercentiles(counts: readonly number[], pcts: readonly number[]): number[] {
  const results: number[] = pcts.map(() => 0);
  let total = 0;
  for (const c of counts) total += c;
  let pctIdx = 0;
  let prev = 0;
  let prevP = 0;
  let prevB = 0n;
  for (let i = 0; i < REF.values.length; ++i) {
    const next = prev + counts[i]!;
    const nextP = (100 * next) / total;
    const nextB = REF.values[i]!;
    while (pctIdx < pcts.length && nextP >= pcts[pctIdx]!) {
      const f = (pcts[pctIdx]! - prevP) / (nextP - prevP);
      // Java: if (Double.isNaN(f)) results[pctIdx] = 0.0; else …
      results[pctIdx] = Number.isNaN(f) ? 0 : f * Number(nextB - prevB) + Number(prevB);
      ++pctIdx;
    }
    if (pctIdx >= pcts.length) break;
    prev = next;
    prevP = nextP;
    prevB = nextB;
  }
  const nextP = 100;
  const nextB = LONG_MAX;
  while (pctIdx < pcts.length) {
    const f = (pcts[pctIdx]! - prevP) / (nextP - prevP);
    results[pctIdx] = f * Number(nextB - prevB) + Number(prevB);
    ++pctIdx;
  }
  return results;
}

/**
 * Java's `PercentileBuckets.percentiles(double[], double[], double[])` transcribed literally
 * (longs as BigInt): only positive finite counts make the total, the walk stops at the last
 * non-empty bucket, and the tail goes towards that bucket's bound.
 */
function referenceFractionalPercentiles(
  counts: readonly number[],
  pcts: readonly number[],
): number[] {
  const results: number[] = pcts.map(() => 0);
  let lastNonZeroIdx = 0;
  let total = 0;
  for (let i = 0; i < counts.length; ++i) {
    const c = counts[i]!;
    if (c > 0 && Number.isFinite(c)) {
      total += c;
      lastNonZeroIdx = i;
    }
  }
  let pctIdx = 0;
  let prev = 0;
  let prevP = 0;
  let prevB = 0n;
  for (let i = 0; i <= lastNonZeroIdx; ++i) {
    const next = prev + counts[i]!;
    const nextP = (100 * next) / total;
    const nextB = REF.values[i]!;
    while (pctIdx < pcts.length && nextP >= pcts[pctIdx]!) {
      const f = (pcts[pctIdx]! - prevP) / (nextP - prevP);
      results[pctIdx] = Number.isNaN(f) ? 0 : f * Number(nextB - prevB) + Number(prevB);
      ++pctIdx;
    }
    if (pctIdx >= pcts.length) break;
    prev = next;
    prevP = nextP;
    prevB = nextB;
  }
  const nextP = 100;
  const nextB = REF.values[lastNonZeroIdx]!;
  while (pctIdx < pcts.length) {
    const f = (pcts[pctIdx]! - prevP) / (nextP - prevP);
    results[pctIdx] = f * Number(nextB - prevB) + Number(prevB);
    ++pctIdx;
  }
  return results;
}

/** java.util.Random, so Java's own sanity tests (seed 42, 10,000 nextLong()) can be replayed. */
class JavaRandom {
  private seed: bigint;
  private static readonly MULT = 0x5deece66dn;
  private static readonly MASK = (1n << 48n) - 1n;

  constructor(seed: bigint) {
    this.seed = (seed ^ JavaRandom.MULT) & JavaRandom.MASK;
  }

  private next(bits: number): bigint {
    this.seed = (this.seed * JavaRandom.MULT + 0xbn) & JavaRandom.MASK;
    return BigInt.asIntN(32, this.seed >> BigInt(48 - bits));
  }

  nextLong(): bigint {
    return long((this.next(32) << 32n) + this.next(32));
  }
}

/** Deterministic 64-bit generator (SplitMix64) for the property checks. */
function splitMix64(seed: bigint): () => bigint {
  let state = BigInt.asUintN(64, seed);
  return () => {
    state = BigInt.asUintN(64, state + 0x9e3779b97f4a7c15n);
    let z = state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  };
}

/** Random non-negative long with a random bit length, so every bucket group gets exercised. */
function randomLongAllScales(next: () => bigint): bigint {
  const bits = Number(next() % 64n); // 0..63
  return bits === 0 ? 0n : next() & ((1n << BigInt(bits)) - 1n);
}

/** Exact when the double equals the integer, which is what the fast path requires. */
const isExactDouble = (x: bigint): boolean => BigInt(Number(x)) === x;

// ---------------------------------------------------------------------------------------------

describe('percentile bucket table', () => {
  it('has 276 buckets, like Java', () => {
    expect(PERCENTILE_BUCKET_COUNT).toBe(276);
    expect(REF.values.length).toBe(276);
  });

  it('matches a fresh transcription of the Java static initialiser, exactly', () => {
    for (let i = 0; i < PERCENTILE_BUCKET_COUNT; i++) {
      expect(percentileBucketBoundExact(i)).toBe(REF.values[i]);
      // The double view is Java's (double) conversion of the long.
      expect(percentileBucketBound(i)).toBe(Number(REF.values[i]));
    }
  });

  it('starts with 1..14 then 16, 21, 26 (the group comments in the Java source)', () => {
    const first = Array.from({ length: 26 }, (_, i) => percentileBucketBoundExact(i));
    expect(first).toEqual([
      1n,
      2n,
      3n,
      4n,
      5n,
      6n,
      7n,
      8n,
      9n,
      10n,
      11n,
      12n,
      13n,
      14n,
      16n,
      21n,
      26n,
      31n,
      36n,
      41n,
      46n,
      51n,
      56n,
      64n,
      85n,
      106n,
    ]);
  });

  it('has the published values at known positions', () => {
    // Values as listed in other Spectator ports' literal tables (generated from the Java class).
    const known: Array<[number, bigint]> = [
      [32, 256n],
      [41, 1024n],
      [59, 16384n],
      [68, 65536n],
      [100, 11184809n],
      [140, 4294967296n], // 2^32
      [141, 5726623061n],
      [230, 4503599627370496n],
      [231, 6004799503160661n],
      [232, 7505999378950826n],
      [233, 9007199254740991n], // 2^53 - 1
      [234, 10508399130531156n],
      [266, 1152921504606846976n], // 4^30
      [267, 1537228672809129301n],
      [274, 4227378850225105576n], // last real bucket: 4^31 adds none
      [275, 9223372036854775807n],
    ];
    for (const [i, v] of known) expect(percentileBucketBoundExact(i)).toBe(v);
  });

  it('ends with Long.MAX_VALUE, which reads as 2^63 as a double', () => {
    expect(percentileBucketBoundExact(275)).toBe(9223372036854775807n);
    expect(percentileBucketBound(275)).toBe(2 ** 63);
  });

  it('is strictly increasing', () => {
    for (let i = 1; i < PERCENTILE_BUCKET_COUNT; i++) {
      expect(percentileBucketBoundExact(i)).toBeGreaterThan(percentileBucketBoundExact(i - 1));
      expect(percentileBucketBound(i)).toBeGreaterThan(percentileBucketBound(i - 1));
    }
  });

  it('has power-of-4 groups starting at the indexes Java records', () => {
    expect(REF.powerOf4Index).toEqual([
      0, 3, 14, 23, 32, 41, 50, 59, 68, 77, 86, 95, 104, 113, 122, 131, 140, 149, 158, 167, 176,
      185, 194, 203, 212, 221, 230, 239, 248, 257, 266, 275,
    ]);
    for (let k = 1; k <= 30; k++) {
      expect(percentileBucketBoundExact(REF.powerOf4Index[k]!)).toBe(1n << BigInt(2 * k));
    }
  });

  it('rejects indexes outside the table', () => {
    for (const bad of [-1, 276, 1.5, Number.NaN]) {
      expect(() => percentileBucketBound(bad)).toThrow(RangeError);
      expect(() => percentileBucketBoundExact(bad)).toThrow(RangeError);
    }
  });
});

describe('percentileBucketIndex / percentileBucketIndexExact', () => {
  it("passes Java's PercentileBucketsTest.indexOf", () => {
    const cases: Array<[bigint, number]> = [
      [-1n, 0],
      [0n, 0],
      [1n, 1],
      [2n, 2],
      [3n, 3],
      [4n, 4],
      [87n, 25],
      [LONG_MAX, 275],
    ];
    for (const [v, want] of cases) {
      expect(percentileBucketIndexExact(v)).toBe(want);
      expect(percentileBucketIndex(Number(v))).toBe(want);
    }
  });

  it('puts a value equal to a bound in the next bucket, as Java does', () => {
    expect(percentileBucketIndex(16)).toBe(15);
    expect(percentileBucketBound(15)).toBe(21);
    expect(percentileBucketIndex(4)).toBe(4); // bound 5, not bound(3) = 4
    expect(percentileBucketIndex(5)).toBe(5); // bound 6
    // 15 skips bound(14) = 16: the offset runs past the 4..14 group into the next one.
    expect(percentileBucketIndex(15)).toBe(15);
    expect(percentileBucketIndex(60)).toBe(23); // bound 64
    expect(percentileBucketIndex(61)).toBe(24); // bound 85, skipping 64
  });

  it('agrees with the reference on edge values', () => {
    const edges: bigint[] = [
      -(1n << 63n),
      -5n,
      -1n,
      0n,
      1n,
      2n,
      3n,
      4n,
      5n,
      14n,
      15n,
      16n,
      17n,
      21n,
      22n,
      55n,
      56n,
      63n,
      64n,
    ];
    for (let b = 0n; b < 63n; b++) {
      const p = 1n << b;
      edges.push(p - 2n, p - 1n, p, p + 1n, p + 2n);
    }
    edges.push((1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 2n, 1n << 62n, LONG_MAX - 1n, LONG_MAX);
    for (const v of edges) {
      if (v < -(1n << 63n) || v > LONG_MAX) continue;
      const want = referenceIndexOf(v);
      expect(percentileBucketIndexExact(v), `exact ${v}`).toBe(want);
      if (isExactDouble(v)) expect(percentileBucketIndex(Number(v)), `fast ${v}`).toBe(want);
    }
  });

  it('agrees with the reference around every bucket bound', () => {
    for (const b of REF.values) {
      for (let d = -3n; d <= 3n; d++) {
        const v = b + d;
        if (v > LONG_MAX) continue;
        const want = referenceIndexOf(v);
        expect(percentileBucketIndexExact(v), `exact ${v}`).toBe(want);
        if (isExactDouble(v)) expect(percentileBucketIndex(Number(v)), `fast ${v}`).toBe(want);
      }
    }
  });

  it('agrees with the reference for every integer up to 2^16', () => {
    for (let v = 0; v <= 65536; v++) {
      const got = percentileBucketIndex(v);
      if (got !== referenceIndexOf(BigInt(v)))
        expect(got, `v=${v}`).toBe(referenceIndexOf(BigInt(v)));
    }
  });

  it('agrees with the reference near the top of the double-exact range (division rounding)', () => {
    // Near 2^53 the delta exceeds 2^50, where a rounded d / delta can land on the next integer;
    // values just below a multiple of delta are the ones that would expose a wrong floor.
    for (const k of [24n, 25n, 26n]) {
      const base = 1n << (2n * k);
      const delta = base / 3n;
      for (let m = 1n; m <= 11n; m++) {
        for (const d of [-2n, -1n, 0n, 1n]) {
          const v = base + m * delta + d;
          if (v >= 1n << 53n) continue;
          expect(percentileBucketIndex(Number(v)), `v=${v}`).toBe(referenceIndexOf(v));
        }
      }
    }
  });

  it('maps 10,000 random values at every scale like Java (seeded, deterministic)', () => {
    const next = splitMix64(0x5eed5eedn);
    let fastChecked = 0;
    let aboveTwo53 = 0;
    for (let i = 0; i < 10_000; i++) {
      const x = randomLongAllScales(next);
      const want = referenceIndexOf(x);
      expect(percentileBucketIndexExact(x)).toBe(want);
      const asDouble = Number(x);
      if (isExactDouble(x)) {
        expect(percentileBucketIndex(asDouble)).toBe(want);
        fastChecked++;
        if (asDouble >= 2 ** 53) aboveTwo53++;
      } else {
        // Not representable: the double path must bucket the value the double actually holds.
        const held = BigInt(asDouble);
        expect(percentileBucketIndex(asDouble)).toBe(
          held > LONG_MAX ? 275 : referenceIndexOf(held),
        );
      }
      // Java's guarantee (PercentileBucketsTest.indexOfSanityCheck): v <= bound(indexOf(v)).
      expect(x <= percentileBucketBoundExact(want)).toBe(true);
    }
    expect(fastChecked).toBeGreaterThan(4000);
    expect(aboveTwo53).toBeGreaterThan(100);
  });

  it("replays Java's indexOfSanityCheck / bucketSanityCheck (java.util.Random(42))", () => {
    const r = new JavaRandom(42n);
    for (let i = 0; i < 10_000; i++) {
      const v = r.nextLong();
      const idx = percentileBucketIndexExact(v);
      expect(idx).toBe(referenceIndexOf(v));
      if (v < 0n) {
        expect(idx).toBe(0);
        expect(percentileBucketBoundExact(idx)).toBe(1n);
      } else {
        expect(v <= percentileBucketBoundExact(idx)).toBe(true);
      }
      // The fast path sees the value rounded to a double, as a JS caller would pass it.
      const held = BigInt(Number(v));
      expect(percentileBucketIndex(Number(v))).toBe(held > LONG_MAX ? 275 : referenceIndexOf(held));
    }
  });

  it('is monotonic and brackets values as Java does: bound(i-2) <= v < bound(i)', () => {
    const next = splitMix64(7n);
    const values: bigint[] = [];
    for (let i = 0; i < 5000; i++) values.push(randomLongAllScales(next));
    values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let last = 0;
    for (const v of values) {
      const i = percentileBucketIndexExact(v);
      expect(i).toBeGreaterThanOrEqual(last);
      last = i;
      if (i < 275) expect(v < percentileBucketBoundExact(i)).toBe(true);
      else expect(v <= percentileBucketBoundExact(i)).toBe(true);
      // Not bound(i-1): a value just below a power of 4 skips a bucket (e.g. 15 -> bound 21).
      if (i >= 2) expect(percentileBucketBoundExact(i - 2) <= v).toBe(true);
    }
  });

  it('handles doubles like a truncating long conversion', () => {
    expect(percentileBucketIndex(Number.NaN)).toBe(0);
    expect(percentileBucketIndex(-0)).toBe(0);
    expect(percentileBucketIndex(-1e300)).toBe(0);
    expect(percentileBucketIndex(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(percentileBucketIndex(0.9)).toBe(0);
    expect(percentileBucketIndex(1.9)).toBe(1);
    expect(percentileBucketIndex(4.5)).toBe(4);
    expect(percentileBucketIndex(16.7)).toBe(percentileBucketIndex(16));
    expect(percentileBucketIndex(Number.POSITIVE_INFINITY)).toBe(275);
    expect(percentileBucketIndex(2 ** 63)).toBe(275);
    expect(percentileBucketIndex(1e300)).toBe(275);
    expect(percentileBucketIndex(2 ** 62)).toBe(275);
    expect(percentileBucketIndex(2 ** 62 - 1024)).toBe(referenceIndexOf((1n << 62n) - 1024n));
  });

  it('clamps bigints outside the long range', () => {
    expect(percentileBucketIndexExact(1n << 64n)).toBe(275);
    expect(percentileBucketIndexExact(LONG_MAX + 1n)).toBe(275);
    expect(percentileBucketIndexExact(-(1n << 70n))).toBe(0);
  });
});

describe('percentilesFromCounts / percentileFromCounts', () => {
  function uniformCounts(): Float64Array {
    // Java's test data: ++counts[indexOf(i)] for i in [0, 100000).
    const counts = new Float64Array(PERCENTILE_BUCKET_COUNT);
    for (let i = 0; i < 100_000; i++) counts[percentileBucketIndex(i)]!++;
    return counts;
  }

  const PCTS = [0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 98.0, 99.0, 99.5, 100.0];

  it("passes Java's PercentileBucketsTest.percentiles (within 10%)", () => {
    const counts = uniformCounts();
    const results = new Float64Array(PCTS.length);
    percentilesFromCounts(counts, PCTS, results);
    const expected = [0.0, 25e3, 50e3, 75e3, 90e3, 95e3, 98e3, 99e3, 99.5e3, 100e3];
    for (let i = 0; i < PCTS.length; i++) {
      expect(Math.abs(results[i]! - expected[i]!)).toBeLessThanOrEqual(0.1 * 100_000);
      expect(Math.abs(results[i]! - expected[i]!)).toBeLessThanOrEqual(0.1 * expected[i]!);
    }
  });

  it("passes Java's PercentileBucketsTest.percentile (within 10%)", () => {
    const counts = uniformCounts();
    for (const p of PCTS) {
      const expected = p * 1e3;
      expect(Math.abs(percentileFromCounts(counts, p) - expected)).toBeLessThanOrEqual(
        0.1 * expected,
      );
    }
  });

  it('is bit-identical to a transcription of the Java algorithm', () => {
    const counts = Array.from(uniformCounts());
    const pcts = [0, 1, 10, 25, 33.3, 50, 66.6, 90, 99, 99.9, 99.99, 100];
    const results: number[] = pcts.map(() => 0);
    percentilesFromCounts(counts, pcts, results);
    expect(results).toEqual(referencePercentiles(counts, pcts));
    expect(pcts.map((p) => percentileFromCounts(counts, p))).toEqual(
      referencePercentiles(counts, pcts),
    );
  });

  it('keeps Java long arithmetic for bounds above 2^53', () => {
    // Widths up there must be (double)(nextB - prevB), not nextB as double minus prevB as double.
    const next = splitMix64(99n);
    for (let trial = 0; trial < 50; trial++) {
      const counts: number[] = new Array<number>(PERCENTILE_BUCKET_COUNT).fill(0);
      for (let j = 0; j < 20; j++)
        counts[230 + Number(next() % 46n)]! += 1 + Number(next() % 1000n);
      const pcts = [0.5, 12.5, 37, 50, 63.3, 87.5, 99, 99.9];
      const results = new Float64Array(pcts.length);
      percentilesFromCounts(counts, pcts, results);
      expect(Array.from(results)).toEqual(referencePercentiles(counts, pcts));
    }
  });

  it('interpolates linearly inside the bucket', () => {
    const counts = new Float64Array(PERCENTILE_BUCKET_COUNT);
    counts[15] = 4; // (16, 21]
    expect(percentileFromCounts(counts, 50)).toBe(18.5);
    expect(percentileFromCounts(counts, 100)).toBe(21);
    expect(percentileFromCounts(counts, 25)).toBe(17.25);
  });

  it('returns NaN for empty counts (Java too: 0.0 / 0 is NaN for every bucket)', () => {
    const empty = new Float64Array(PERCENTILE_BUCKET_COUNT);
    expect(percentileFromCounts(empty, 50)).toBeNaN();
    const results = [1, 2, 3];
    percentilesFromCounts(empty, [50, 90, 99], results);
    expect(results.every(Number.isNaN)).toBe(true);
    expect(referencePercentiles(Array.from(empty), [50])[0]).toBeNaN();
  });

  // Regression (NaN where Java gives 0.0): Java's current percentiles() checks for an undefined
  // interpolation fraction ((0 - 0) / (0 - 0): p = 0 with the first bucket empty) and gives 0.0.
  it("keeps Java's edge results: p=0 with an empty first bucket is 0.0, p>100 is NaN", () => {
    const counts = new Float64Array(PERCENTILE_BUCKET_COUNT);
    counts[40] = 10;
    expect(percentileFromCounts(counts, 0)).toBe(0);
    expect(percentileFromCounts(counts, 101)).toBeNaN(); // tail: Infinity * 0
    expect(percentileFromCounts(counts, 100)).toBe(936);
    counts[0] = 1;
    expect(percentileFromCounts(counts, 0)).toBe(0);
    expect(referencePercentiles(Array.from(counts), [0, 50, 100])).toEqual(
      [0, 50, 100].map((p) => percentileFromCounts(counts, p)),
    );
  });

  it('a percentile timer with an empty first bucket answers percentile(0) with 0, as Java does', () => {
    const timer = new Registry().percentileTimer('latency.p0');
    timer.record(0.5);
    expect(timer.percentile(0)).toBe(0);
    expect(timer.percentile(100)).toBeGreaterThan(0.5);
  });

  it('checks array sizes like Java', () => {
    const counts = new Float64Array(PERCENTILE_BUCKET_COUNT);
    counts[10] = 1;
    expect(() => percentilesFromCounts(new Float64Array(275), [50], [0])).toThrow(RangeError);
    expect(() => percentilesFromCounts(counts, [], [])).toThrow(RangeError);
    expect(() => percentilesFromCounts(counts, [50, 90], [0])).toThrow(RangeError);
  });
});

describe("percentilesFromFractionalCounts / percentileFromFractionalCounts (Java's double[] variant)", () => {
  // Regression (the last bound, 2^63): fractional counts whose cumulative share stays just under
  // 100 ran to Long.MAX_VALUE; Java's double variant stops at the last non-empty bucket.
  it('stops at the last non-empty bucket: a percentile the rounding left unreached is its bound, not 2^63', () => {
    const counts = new Float64Array(PERCENTILE_BUCKET_COUNT);
    // 100 * c / c is 99.99999999999999 for this c: p = 100 is not reached inside the walk.
    const c = 0.3241758241758242;
    expect((100 * c) / c).toBeLessThan(100);
    counts[20] = c;
    const results = [0, 0];
    percentilesFromFractionalCounts(counts, [50, 100], results);
    expect(results).toEqual(referenceFractionalPercentiles(Array.from(counts), [50, 100]));
    expect(results[1]).toBe(percentileBucketBound(20));
    // The integer-count variant (Java's long[] one) runs on to the last bound.
    expect(percentileFromCounts(counts, 100)).toBe(2 ** 63);
    // Java's quirk: a negative count is left out of the total but added by the walk.
    counts[12] = -0.05;
    expect(percentileFromFractionalCounts(counts, 100)).toBe(percentileBucketBound(20));
    expect(percentileFromFractionalCounts(counts, 100)).toBe(
      referenceFractionalPercentiles(Array.from(counts), [100])[0],
    );
  });

  it('is bit-identical to a transcription of the Java algorithm on random fractional counts', () => {
    const next = splitMix64(7n);
    for (let trial = 0; trial < 200; trial++) {
      const counts: number[] = new Array<number>(PERCENTILE_BUCKET_COUNT).fill(0);
      for (let j = 0; j < 10; j++) counts[Number(next() % 276n)]! += Number(next() % 1000n) / 7;
      const pcts = [0, 0.5, 25, 50, 90, 99, 99.9, 100];
      const results = new Float64Array(pcts.length);
      percentilesFromFractionalCounts(counts, pcts, results);
      expect(Array.from(results)).toEqual(referenceFractionalPercentiles(counts, pcts));
      expect(percentileFromFractionalCounts(counts, 50)).toBe(results[3]);
    }
  });

  it('gives 0.0 for an undefined fraction, NaN without counts, and checks sizes like Java', () => {
    const counts = new Float64Array(PERCENTILE_BUCKET_COUNT);
    counts[40] = 2.5;
    expect(percentileFromFractionalCounts(counts, 0)).toBe(0);
    expect(percentileFromFractionalCounts(counts, 100)).toBe(percentileBucketBound(40));
    expect(percentileFromFractionalCounts(new Float64Array(PERCENTILE_BUCKET_COUNT), 50)).toBeNaN();
    expect(() => percentilesFromFractionalCounts(new Float64Array(3), [50], [0])).toThrow(
      RangeError,
    );
  });
});

describe('percentileTagValues', () => {
  it('formats prefix + 4 upper-case hex digits, like String.format("T%04X", i)', () => {
    const t = percentileTagValues('T');
    const d = percentileTagValues('D');
    expect(t).toHaveLength(276);
    expect(d).toHaveLength(276);
    expect(t[0]).toBe('T0000');
    expect(t[10]).toBe('T000A');
    expect(t[66]).toBe('T0042');
    expect(t[275]).toBe('T0113');
    expect(d[0]).toBe('D0000');
    expect(d[275]).toBe('D0113');
    t.forEach((v, i) => expect(v).toBe(`T${i.toString(16).toUpperCase().padStart(4, '0')}`));
  });

  it('is computed once per prefix and frozen', () => {
    const t = percentileTagValues('T');
    expect(percentileTagValues('T')).toBe(t);
    expect(percentileTagValues('D')).not.toBe(t);
    expect(Object.isFrozen(t)).toBe(true);
  });
});
