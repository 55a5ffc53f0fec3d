import { OP_MAX } from './ops.js';
import { Meter, type MeasurementSink } from './meter.js';

/**
 * The largest value set during the interval. Publishes `statistic=max` with the max op, then
 * starts over.
 *
 * @example
 * ```ts
 * const queue = registry.maxGauge('queue.size');
 * queue.set(items.length);
 * ```
 */
export class MaxGauge extends Meter {
  get type(): 'max-gauge' {
    return 'max-gauge';
  }

  private max = NaN;

  /**
   * Offers a value; the largest one of the interval is published. NaN, infinities and
   * non-numbers are ignored.
   */
  set(value: number): void {
    // An infinity would win the interval and then be refused at publish (Atlas takes finite
    // numbers only), losing the finite values offered with it.
    if (!Number.isFinite(value)) return;
    if (value > this.max || this.max !== this.max) this.max = value;
    this.touch();
  }

  /** The largest value of the current interval (`NaN` when none). */
  value(): number {
    return this.max;
  }

  collect(reset: boolean, sink: MeasurementSink): void {
    if (this.max === this.max) sink('max', OP_MAX, this.max);
    if (reset) this.max = NaN;
  }
}
