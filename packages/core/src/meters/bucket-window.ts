/**
 * The counts of a percentile meter's buckets, kept for the window of buckets its values have
 * reached rather than for all 276: a service's latencies fall into a handful of neighbouring
 * buckets, so most percentile meters keep a few counts instead of a 2.2 KB array. The window
 * only grows (to take a value outside it), and a meter whose values reach every bucket ends up
 * with all 276 counts in one plain array (less than the `Float64Array` it replaces: no typed
 * array or buffer objects). Java gets the same effect by creating each bucket's counter on first
 * use.
 */
import { PERCENTILE_BUCKET_COUNT, percentileBucketIndex } from './percentile-buckets.js';

/** How a percentile meter maps its values to buckets, shared by the meters of one range. */
export interface Bucketing {
  /** The range, as the app gave it (seconds for timers, amounts for summaries). */
  readonly range: Readonly<{ min: number; max: number }>;
  /** The range's ends in bucket units (nanoseconds for timers, amounts for summaries). */
  readonly lowest: number;
  readonly highest: number;
  /** Buckets of the range's ends, computed once: clamped values need no bucket arithmetic. */
  readonly lowestIndex: number;
  readonly highestIndex: number;
}

/** Ranges remembered for sharing: apps use a handful; past this each meter gets its own. */
const MAX_SHARED_BUCKETINGS = 64;

const bucketings = new Map<string, Bucketing>();

/**
 * The {@link Bucketing} of a percentile timer's range (seconds; bucketed in nanoseconds, as
 * Java does), shared between the timers of equal ranges.
 */
export function timerBucketing(range: { min: number; max: number }): Bucketing {
  return shared('T', range, Math.round(range.min * 1e9), Math.round(range.max * 1e9));
}

/**
 * The {@link Bucketing} of a percentile distribution summary's range (bucketed as given: amounts
 * are rounded, the range's ends are not), shared between the summaries of equal ranges.
 */
export function summaryBucketing(range: { min: number; max: number }): Bucketing {
  return shared('D', range, range.min, range.max);
}

function shared(
  kind: string,
  range: { min: number; max: number },
  lowest: number,
  highest: number,
): Bucketing {
  const key = `${kind}:${range.min}:${range.max}`;
  let known = bucketings.get(key);
  if (known === undefined) {
    known = Object.freeze({
      range: Object.freeze({ min: range.min, max: range.max }),
      lowest,
      highest,
      lowestIndex: percentileBucketIndex(lowest),
      highestIndex: percentileBucketIndex(highest),
    });
    if (bucketings.size < MAX_SHARED_BUCKETINGS) bucketings.set(key, known);
  }
  return known;
}

/** The bucket of `units` (a value in bucket units, rounded), clamped to the range. */
export function bucketIndex(b: Bucketing, units: number): number {
  return units <= b.lowest
    ? b.lowestIndex
    : units >= b.highest
      ? b.highestIndex
      : percentileBucketIndex(units);
}

/**
 * The window of a meter that has counted nothing yet. Shared and empty, so never written: a
 * record into it always takes {@link widen}.
 */
export const NO_COUNTS: number[] = [];

/** 276 zeros, the source of the zeros a window grows by (slices of it are packed arrays). */
const ZEROS: readonly number[] = Array.from({ length: PERCENTILE_BUCKET_COUNT }, () => 0);

/** A window of counts: bucket `start + i` has `counts[i]`. */
export interface Window {
  counts: number[];
  start: number;
}

/**
 * `counts` (starting at bucket `start`) grown to include bucket `index`, with one more in it.
 * A new array of exactly the length needed (built by `concat`, which keeps it packed).
 */
export function widen(counts: number[], start: number, index: number): Window {
  let window: Window;
  if (counts.length === 0) window = { counts: [0], start: index };
  else if (index < start)
    window = { counts: ZEROS.slice(0, start - index).concat(counts), start: index };
  else window = { counts: counts.concat(ZEROS.slice(0, index - start - counts.length + 1)), start };
  window.counts[index - window.start]!++;
  return window;
}

/** Scratch for {@link allCounts}; safe because its users are synchronous and not re-entrant. */
const ALL_COUNTS = new Float64Array(PERCENTILE_BUCKET_COUNT);

/** A window as the 276 counts the percentile functions take (a shared scratch array). */
export function allCounts(counts: readonly number[], start: number): Float64Array {
  ALL_COUNTS.fill(0);
  for (let i = 0; i < counts.length; i++) ALL_COUNTS[start + i] = counts[i]!;
  return ALL_COUNTS;
}
