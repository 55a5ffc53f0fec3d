import { OP_ADD } from './ops.js';
import { Meter, type MeasurementSink } from './meter.js';

/**
 * Turns a monotonically growing source (bytes read since start, a kernel counter, …) into a
 * rate. Publishes `statistic=count` with the add op: the sum of the increases between successive
 * samples since the previous publish. The first sample is only a baseline; a sample lower than
 * the previous one is taken as a restart of the source and becomes the new baseline (no negative
 * delta, and the increases before it are kept). This is what Java Spectator's polled monotonic
 * counter does (`PolledMeter` … `monitorMonotonicCounter`: each sample adds `current - previous`
 * to a counter when positive, then becomes `previous`).
 *
 * @example
 * ```ts
 * const bytes = registry.monotonicCounter('socket.bytesRead');
 * setInterval(() => bytes.set(socket.bytesRead), 1000).unref();
 * // set(10) set(20) set(5) set(8) → count 13 (+10, restart at 5, +3)
 * ```
 */
export class MonotonicCounter extends Meter {
  get type(): 'monotonic-counter' {
    return 'monotonic-counter';
  }

  /** The last sample (`NaN` before the first). */
  private previous = NaN;
  /** Increases accumulated since the last publish. */
  private increase = 0;

  /** Offers the source's current value. Non-finite values and non-numbers are ignored. */
  set(value: number | bigint): void {
    const v = typeof value === 'bigint' ? Number(value) : value;
    if (!Number.isFinite(v)) return;
    // Comparing with NaN is false: the first sample only sets the baseline.
    if (v > this.previous) this.increase += v - this.previous;
    this.previous = v;
    this.touch();
  }

  /** The increase since the last publish (0 before a second sample). */
  delta(): number {
    return this.increase;
  }

  collect(reset: boolean, sink: MeasurementSink): void {
    if (this.increase > 0) sink('count', OP_ADD, this.increase);
    if (reset) this.increase = 0;
  }
}
