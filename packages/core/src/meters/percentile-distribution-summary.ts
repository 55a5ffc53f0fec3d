import { OP_ADD } from './ops.js';
import type { Id } from '../ids/id.js';
import { DistributionSummary } from './distribution-summary.js';
import type { MeasurementSink } from './meter.js';
import { percentileFromCounts, percentileTagValues } from './percentile-buckets.js';
import {
  allCounts,
  bucketIndex,
  NO_COUNTS,
  summaryBucketing,
  widen,
  type Bucketing,
} from './bucket-window.js';

const SUMMARY_TAGS = percentileTagValues('D');

/** Default bucketing range of a percentile distribution summary (Java's 0 … Long.MAX_VALUE). */
export const DEFAULT_PERCENTILE_SUMMARY_RANGE = { min: 0, max: 2 ** 63 } as const;

/**
 * A {@link DistributionSummary} that also counts amounts into Spectator's percentile buckets
 * (`statistic=percentile`, `percentile=D00XX`). Amounts are rounded to integers and clamped to
 * the range before bucketing. Only the buckets between the lowest and the highest one used are
 * kept (see `bucket-window.ts`).
 *
 * @example
 * ```ts
 * const size = registry.percentileDistributionSummary('server.responseSize', {}, { max: 1e7 });
 * size.record(body.length);
 * ```
 */
export class PercentileDistributionSummary extends DistributionSummary {
  override get type(): 'percentile-distribution-summary' {
    return 'percentile-distribution-summary';
  }

  private readonly bucketing: Bucketing;
  /** Counts of buckets `bucketStart` … `bucketStart + bucketCounts.length - 1`. */
  private bucketCounts = NO_COUNTS;
  private bucketStart = 0;

  constructor(id: Id, range: { min: number; max: number }) {
    super(id);
    this.bucketing = summaryBucketing(range);
  }

  /** The range amounts are bucketed in (fixed when the summary was created). */
  get range(): Readonly<{ min: number; max: number }> {
    return this.bucketing.range;
  }

  override record(amount: number): void {
    if (!(typeof amount === 'number' && amount >= 0 && amount < Infinity)) return;
    // `DistributionSummary.record` written out: one argument check instead of two.
    this.count++;
    this.total += amount;
    this.totalOfSquares += amount * amount;
    if (amount > this.max) this.max = amount;
    this.touch();
    const index = bucketIndex(this.bucketing, Math.round(amount));
    const counts = this.bucketCounts;
    // Unsigned, so one comparison covers both ends: a bucket below the window wraps to 2^32 - k.
    const slot = (index - this.bucketStart) >>> 0;
    if (slot < counts.length) counts[slot]!++;
    else this.widen(index);
  }

  /** Grows the window of counts to take bucket `index` (see `bucket-window.ts`). */
  private widen(index: number): void {
    const window = widen(this.bucketCounts, this.bucketStart, index);
    this.bucketCounts = window.counts;
    this.bucketStart = window.start;
  }

  /** Estimated `p`th percentile (0–100) of the current interval's amounts; `NaN` when empty. */
  percentile(p: number): number {
    return percentileFromCounts(allCounts(this.bucketCounts, this.bucketStart), p);
  }

  override collect(reset: boolean, sink: MeasurementSink): void {
    super.collect(reset, sink);
    const counts = this.bucketCounts;
    const start = this.bucketStart;
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      if (n > 0) sink('percentile', OP_ADD, n, SUMMARY_TAGS[start + i]);
    }
    if (reset && counts.length > 0) counts.fill(0);
  }
}
