import { OP_MAX } from './ops.js';
import { Meter, type MeasurementSink } from './meter.js';

/**
 * The last value set. Publishes `statistic=gauge` with the max op, and keeps reporting the
 * value until the gauge is not updated for the registry's meter TTL (15 minutes by default).
 * `set(NaN)` stops reporting it; `±Infinity` is ignored (Atlas cannot store it).
 *
 * @example
 * ```ts
 * registry.gauge('server.capacity').set(50);
 * ```
 */
export class Gauge extends Meter {
  get type(): 'gauge' {
    return 'gauge';
  }

  private current = NaN;

  /** Sets the value. `NaN` clears the gauge; infinities and non-numbers are ignored. */
  set(value: number): void {
    // An infinity kept as the value would be refused at every publish until the TTL (Atlas takes
    // finite numbers only): ignoring it keeps the last finite value, as for any bad input.
    if (typeof value !== 'number' || value === Infinity || value === -Infinity) return;
    this.current = value;
    this.touch();
  }

  /** The last value set (`NaN` when unset). */
  value(): number {
    return this.current;
  }

  collect(_reset: boolean, sink: MeasurementSink): void {
    if (this.current === this.current) sink('gauge', OP_MAX, this.current);
  }
}
