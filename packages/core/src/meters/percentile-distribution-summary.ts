import { OP_ADD } from './ops.js';
import type { Id } from '../ids/id.js';
import { DistributionSummary } from './distribution-summary.js';
import type { MeasurementSink, MeterOwner } from './meter.js';
import {
  PERCENTILE_BUCKET_COUNT,
  percentileBucketIndex,
  percentileFromCounts,
  percentileTagValues,
} from './percentile-buckets.js';

const SUMMARY_TAGS = percentileTagValues('D');

/** Default bucketing range of a percentile distribution summary (Java's 0 … Long.MAX_VALUE). */
export const DEFAULT_PERCENTILE_SUMMARY_RANGE = { min: 0, max: 2 ** 63 } as const;

/**
 * A {@link DistributionSummary} that also counts amounts into Spectator's percentile buckets
 * (`statistic=percentile`, `percentile=D00XX`). Amounts are rounded to integers and clamped to
 * the range before bucketing.
 *
 * @example
 * ```ts
 * const size = registry.percentileDistributionSummary('server.responseSize', {}, { max: 1e7 });
 * size.record(body.length);
 * ```
 */
export class PercentileDistributionSummary extends DistributionSummary {
  override readonly type = 'percentile-distribution-summary' as const;
  private readonly buckets = new Float64Array(PERCENTILE_BUCKET_COUNT);
  private readonly rangeMin: number;
  private readonly rangeMax: number;
  /** Buckets of the range's ends, computed once (clamped amounts need no bucket arithmetic). */
  private readonly minIndex: number;
  private readonly maxIndex: number;

  /** The range amounts are bucketed in (fixed when the summary was created). */
  readonly range: Readonly<{ min: number; max: number }>;

  constructor(id: Id, owner: MeterOwner, range: { min: number; max: number }) {
    super(id, owner);
    this.range = Object.freeze({ min: range.min, max: range.max });
    this.rangeMin = range.min;
    this.rangeMax = range.max;
    this.minIndex = percentileBucketIndex(range.min);
    this.maxIndex = percentileBucketIndex(range.max);
  }

  override record(amount: number): void {
    if (!(typeof amount === 'number' && amount >= 0 && amount < Infinity)) return;
    // `DistributionSummary.record` written out: one argument check instead of two.
    this.count++;
    this.total += amount;
    this.totalOfSquares += amount * amount;
    if (amount > this.max) this.max = amount;
    this.touch();
    const rounded = Math.round(amount);
    const index =
      rounded <= this.rangeMin
        ? this.minIndex
        : rounded >= this.rangeMax
          ? this.maxIndex
          : percentileBucketIndex(rounded);
    this.buckets[index]!++;
  }

  /** Estimated `p`th percentile (0–100) of the current interval's amounts; `NaN` when empty. */
  percentile(p: number): number {
    return percentileFromCounts(this.buckets, p);
  }

  override collect(reset: boolean, sink: MeasurementSink): void {
    super.collect(reset, sink);
    const buckets = this.buckets;
    for (let i = 0; i < PERCENTILE_BUCKET_COUNT; i++) {
      const n = buckets[i]!;
      if (n > 0) sink('percentile', OP_ADD, n, SUMMARY_TAGS[i]);
    }
    if (reset) buckets.fill(0);
  }
}
