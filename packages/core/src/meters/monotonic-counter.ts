import { OP_ADD } from '../publish/ops.js';
import { Meter, type MeasurementSink } from './meter.js';

/**
 * Turns a monotonically growing source (bytes read since start, a kernel counter, …) into a
 * rate. Publishes `statistic=count` with the add op: the increase since the previous publish.
 * The first sample is only a baseline; a sample lower than the previous one is taken as a
 * restart of the source and becomes the new baseline (no negative delta).
 *
 * @example
 * ```ts
 * const bytes = registry.monotonicCounter('socket.bytesRead');
 * setInterval(() => bytes.set(socket.bytesRead), 1000).unref();
 * ```
 */
export class MonotonicCounter extends Meter {
  readonly type = 'monotonic-counter' as const;
  private baseline = NaN;
  private latest = NaN;

  /** Offers the source's current value. Non-finite values and non-numbers are ignored. */
  set(value: number | bigint): void {
    const v = typeof value === 'bigint' ? Number(value) : value;
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    if (this.baseline !== this.baseline || v < this.latest) this.baseline = v;
    this.latest = v;
    this.touch();
  }

  /** The increase since the last publish (0 before a second sample). */
  delta(): number {
    return this.latest === this.latest ? this.latest - this.baseline : 0;
  }

  collect(reset: boolean, sink: MeasurementSink): void {
    const delta = this.delta();
    if (delta > 0) sink('count', OP_ADD, delta);
    if (reset && this.latest === this.latest) this.baseline = this.latest;
  }
}
