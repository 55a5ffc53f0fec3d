import { OP_ADD, OP_MAX } from './ops.js';
import { Meter, isRecordable, type MeasurementSink } from './meter.js';

/**
 * The distribution of amounts (bytes, items, …). Publishes `count`, `totalAmount` and
 * `totalOfSquares` with the add op and `max` with the max op, all for the interval.
 *
 * @example
 * ```ts
 * registry.distributionSummary('server.responseSize').record(body.length);
 * ```
 */
export class DistributionSummary extends Meter {
  get type(): 'distribution-summary' | 'percentile-distribution-summary' {
    return 'distribution-summary';
  }

  protected count = 0;
  protected total = 0;
  protected totalOfSquares = 0;
  protected max = 0;

  /** Records an amount. Negative, NaN, infinite and non-number amounts are ignored. */
  record(amount: number): void {
    if (!isRecordable(amount)) return;
    this.count++;
    this.total += amount;
    this.totalOfSquares += amount * amount;
    if (amount > this.max) this.max = amount;
    this.touch();
  }

  /** Number of amounts recorded in the current interval. */
  countValue(): number {
    return this.count;
  }

  /** Sum of the amounts recorded in the current interval. */
  totalAmount(): number {
    return this.total;
  }

  collect(reset: boolean, sink: MeasurementSink): void {
    if (this.count > 0) {
      sink('count', OP_ADD, this.count);
      sink('totalAmount', OP_ADD, this.total);
      sink('totalOfSquares', OP_ADD, this.totalOfSquares);
      sink('max', OP_MAX, this.max);
    }
    if (reset) this.count = this.total = this.totalOfSquares = this.max = 0;
  }
}
