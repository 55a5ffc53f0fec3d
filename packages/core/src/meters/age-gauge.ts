import type { Id } from '../ids/id.js';
import type { Clock } from '../internal/clock.js';
import { OP_MAX } from './ops.js';
import { Meter, type MeasurementSink } from './meter.js';

/**
 * Seconds since something last happened ("time since the last successful refresh"). Publishes
 * `statistic=gauge` with the max op; the value is 0 at creation and grows until `reset()`. It
 * never expires, since a growing age is exactly the signal it exists to give.
 *
 * @example
 * ```ts
 * const sinceRefresh = registry.ageGauge('cache.timeSinceRefresh');
 * await refresh();
 * sinceRefresh.reset();
 * ```
 */
export class AgeGauge extends Meter {
  get type(): 'age-gauge' {
    return 'age-gauge';
  }

  override get expires(): boolean {
    return false;
  }

  private lastReset: number;

  constructor(
    id: Id,
    private readonly clock: Clock,
  ) {
    super(id);
    this.lastReset = clock.wallTime();
  }

  /** Marks "now" as the last occurrence. */
  reset(): void {
    this.lastReset = this.clock.wallTime();
    this.touch();
  }

  /** Seconds since creation or the last `reset()`. */
  value(): number {
    return Math.max(0, (this.clock.wallTime() - this.lastReset) / 1000);
  }

  collect(_reset: boolean, sink: MeasurementSink): void {
    sink('gauge', OP_MAX, this.value());
  }
}
