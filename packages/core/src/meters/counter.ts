import { OP_ADD } from './ops.js';
import { Meter, type MeasurementSink } from './meter.js';

/**
 * Counts events. Publishes `statistic=count` with the aggregator's add op: the sum of increments
 * since the last publish.
 *
 * @example
 * ```ts
 * const requests = registry.counter('server.requests', { status: '200' });
 * requests.increment();
 * requests.add(3);
 * ```
 */
export class Counter extends Meter {
  get type(): 'counter' {
    return 'counter';
  }

  private count = 0;

  /** Adds `n` (default 1). Negative, NaN, infinite and non-number amounts are ignored. */
  increment(n = 1): void {
    if (typeof n === 'number' && n > 0 && n < Infinity) {
      this.count += n;
      this.touch();
    }
  }

  /** Adds `n`; same rules as {@link Counter.increment}. */
  add(n: number): void {
    this.increment(n);
  }

  /** The count accumulated since the last publish. */
  value(): number {
    return this.count;
  }

  collect(reset: boolean, sink: MeasurementSink): void {
    if (this.count > 0) sink('count', OP_ADD, this.count);
    if (reset) this.count = 0;
  }
}
