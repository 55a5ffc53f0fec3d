import { OP_ADD } from './ops.js';
import type { Id } from '../ids/id.js';
import type { MeasurementSink } from './meter.js';
import { percentileFromCounts, percentileTagValues } from './percentile-buckets.js';
import {
  allCounts,
  bucketIndex,
  NO_COUNTS,
  timerBucketing,
  widen,
  type Bucketing,
} from './bucket-window.js';
import { Timer } from './timer.js';

const TIMER_TAGS = percentileTagValues('T');

/** Default bucketing range of a percentile timer, in seconds (Java's 10 ms … 60 s). */
export const DEFAULT_PERCENTILE_TIMER_RANGE = { min: 0.01, max: 60 } as const;

/**
 * A {@link Timer} that also counts durations into Spectator's 276 percentile buckets, so Atlas
 * can compute percentiles across every instance. Each non-empty bucket is published as a counter
 * with `statistic=percentile` and `percentile=T00XX`. Durations are bucketed in nanoseconds after
 * clamping to the range (default 10 ms … 60 s); the timer statistics use the real duration.
 * Only the buckets between the lowest and the highest one used are kept (see `bucket-window.ts`).
 *
 * @example
 * ```ts
 * const latency = registry.percentileTimer('server.requestLatency', { route: '/users/:id' });
 * latency.record(0.042);
 * latency.percentile(99); // seconds, over the current interval
 * ```
 */
export class PercentileTimer extends Timer {
  override get type(): 'percentile-timer' {
    return 'percentile-timer';
  }

  private readonly bucketing: Bucketing;
  /** Counts of buckets `bucketStart` … `bucketStart + bucketCounts.length - 1`. */
  private bucketCounts = NO_COUNTS;
  private bucketStart = 0;

  constructor(id: Id, range: { min: number; max: number }) {
    super(id);
    this.bucketing = timerBucketing(range);
  }

  /** The range durations are bucketed in, seconds (fixed when the timer was created). */
  get range(): Readonly<{ min: number; max: number }> {
    return this.bucketing.range;
  }

  override record(seconds: number): void {
    if (!(typeof seconds === 'number' && seconds >= 0 && seconds < Infinity)) return;
    // `Timer.record` written out: one argument check instead of two on a per-request path.
    this.count++;
    this.totalTime += seconds;
    this.totalOfSquares += seconds * seconds;
    if (seconds > this.max) this.max = seconds;
    this.touch();
    const index = bucketIndex(this.bucketing, Math.round(seconds * 1e9));
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

  /**
   * Estimated `p`th percentile (0–100) of the durations recorded in the current interval, in
   * seconds, interpolated within buckets as Java does. `NaN` when nothing was recorded.
   */
  percentile(p: number): number {
    return percentileFromCounts(allCounts(this.bucketCounts, this.bucketStart), p) / 1e9;
  }

  override collect(reset: boolean, sink: MeasurementSink): void {
    super.collect(reset, sink);
    const counts = this.bucketCounts;
    const start = this.bucketStart;
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      if (n > 0) sink('percentile', OP_ADD, n, TIMER_TAGS[start + i]);
    }
    if (reset && counts.length > 0) counts.fill(0);
  }
}
