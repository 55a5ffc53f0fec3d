import { OP_ADD } from './ops.js';
import type { Id } from '../ids/id.js';
import type { MeasurementSink, MeterOwner } from './meter.js';
import {
  PERCENTILE_BUCKET_COUNT,
  percentileBucketIndex,
  percentileFromCounts,
  percentileTagValues,
} from './percentile-buckets.js';
import { Timer } from './timer.js';

const TIMER_TAGS = percentileTagValues('T');

/** Default bucketing range of a percentile timer, in seconds (Java's 10 ms … 60 s). */
export const DEFAULT_PERCENTILE_TIMER_RANGE = { min: 0.01, max: 60 } as const;

/**
 * A {@link Timer} that also counts durations into Spectator's 276 percentile buckets, so Atlas
 * can compute percentiles across every instance. Each non-empty bucket is published as a counter
 * with `statistic=percentile` and `percentile=T00XX`. Durations are bucketed in nanoseconds after
 * clamping to the range (default 10 ms … 60 s); the timer statistics use the real duration.
 *
 * @example
 * ```ts
 * const latency = registry.percentileTimer('server.requestLatency', { route: '/users/:id' });
 * latency.record(0.042);
 * latency.percentile(99); // seconds, over the current interval
 * ```
 */
export class PercentileTimer extends Timer {
  override readonly type = 'percentile-timer' as const;
  private readonly buckets = new Float64Array(PERCENTILE_BUCKET_COUNT);
  private readonly minNanos: number;
  private readonly maxNanos: number;
  /**
   * Buckets of the range's ends, computed once: most durations of a fast service fall below the
   * 10 ms floor, and those need no bucket arithmetic per record.
   */
  private readonly minIndex: number;
  private readonly maxIndex: number;

  /** The range durations are bucketed in, seconds (fixed when the timer was created). */
  readonly range: Readonly<{ min: number; max: number }>;

  constructor(id: Id, owner: MeterOwner, range: { min: number; max: number }) {
    super(id, owner);
    this.range = Object.freeze({ min: range.min, max: range.max });
    this.minNanos = Math.round(range.min * 1e9);
    this.maxNanos = Math.round(range.max * 1e9);
    this.minIndex = percentileBucketIndex(this.minNanos);
    this.maxIndex = percentileBucketIndex(this.maxNanos);
  }

  override record(seconds: number): void {
    if (!(typeof seconds === 'number' && seconds >= 0 && seconds < Infinity)) return;
    // `Timer.record` written out: one argument check instead of two on a per-request path.
    this.count++;
    this.totalTime += seconds;
    this.totalOfSquares += seconds * seconds;
    if (seconds > this.max) this.max = seconds;
    this.touch();
    const nanos = Math.round(seconds * 1e9);
    const index =
      nanos <= this.minNanos
        ? this.minIndex
        : nanos >= this.maxNanos
          ? this.maxIndex
          : percentileBucketIndex(nanos);
    this.buckets[index]!++;
  }

  /**
   * Estimated `p`th percentile (0–100) of the durations recorded in the current interval, in
   * seconds, interpolated within buckets as Java does. `NaN` when nothing was recorded.
   */
  percentile(p: number): number {
    return percentileFromCounts(this.buckets, p) / 1e9;
  }

  override collect(reset: boolean, sink: MeasurementSink): void {
    super.collect(reset, sink);
    const buckets = this.buckets;
    for (let i = 0; i < PERCENTILE_BUCKET_COUNT; i++) {
      const n = buckets[i]!;
      if (n > 0) sink('percentile', OP_ADD, n, TIMER_TAGS[i]);
    }
    if (reset) buckets.fill(0);
  }
}
