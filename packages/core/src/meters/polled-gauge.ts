import type { Id } from '../ids/id.js';
import { describeThrown } from '../internal/describe-thrown.js';
import { OP_MAX } from './ops.js';
import { Meter, type MeasurementSink } from './meter.js';

/**
 * A gauge whose value is sampled from a function at each publish (`statistic=gauge`, max op).
 * A function that throws or returns something other than a finite number is skipped for that
 * interval and reported through `onError`; it never breaks the publish. Polled gauges do not
 * expire; call {@link PolledGauge.remove} to stop sampling.
 *
 * @example
 * ```ts
 * registry.polledGauge('pool.active', { pool: 'db' }, () => pool.activeCount);
 * ```
 */
export class PolledGauge extends Meter {
  get type(): 'polled-gauge' {
    return 'polled-gauge';
  }

  override get expires(): boolean {
    return false;
  }

  constructor(
    id: Id,
    private fn: () => number,
    private readonly onError: (gauge: PolledGauge, problem: string) => void,
    private readonly onRemove: (gauge: PolledGauge) => void,
  ) {
    super(id);
  }

  /** Replaces the sampled function (the last registration for an id wins). */
  setFunction(fn: () => number): void {
    this.fn = fn;
  }

  /** Stops sampling and removes the gauge from its registry. */
  remove(): void {
    this.onRemove(this);
  }

  /** Samples the function now; `NaN` when it fails. */
  value(): number {
    try {
      const v = this.fn();
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      this.onError(this, `returned ${typeof v === 'number' ? String(v) : typeof v}`);
    } catch (error) {
      // Whatever was thrown: describing it must not throw again (that would fail the publish).
      this.onError(this, `threw ${describeThrown(error)}`);
    }
    return NaN;
  }

  collect(_reset: boolean, sink: MeasurementSink): void {
    const v = this.value();
    if (v === v) sink('gauge', OP_MAX, v);
  }
}
