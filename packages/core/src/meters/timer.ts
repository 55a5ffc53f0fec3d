import { OP_ADD, OP_MAX } from './ops.js';
import { Meter, isRecordable, type MeasurementSink } from './meter.js';

const NANOS_PER_SECOND = 1e9;
const MILLIS_PER_SECOND = 1e3;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Latency of an operation. Publishes `count`, `totalTime` (seconds) and `totalOfSquares`
 * (seconds²) with the add op and `max` (seconds) with the max op, for the interval.
 *
 * @example
 * ```ts
 * const timer = registry.timer('db.query', { table: 'users' });
 * timer.record(0.012);                       // seconds
 * const rows = await timer.time(() => db.query(sql)); // sync or async; records even on failure
 * const stop = timer.start(); work(); stop(); // stopwatch
 * ```
 */
export class Timer extends Meter {
  get type(): 'timer' | 'percentile-timer' {
    return 'timer';
  }

  protected count = 0;
  protected totalTime = 0;
  protected totalOfSquares = 0;
  protected max = 0;

  /** Records a duration in seconds. Negative, NaN, infinite and non-number values are ignored. */
  record(seconds: number): void {
    if (!isRecordable(seconds)) return;
    this.count++;
    this.totalTime += seconds;
    this.totalOfSquares += seconds * seconds;
    if (seconds > this.max) this.max = seconds;
    this.touch();
  }

  /** Records a duration in nanoseconds, e.g. the difference of two `process.hrtime.bigint()`. */
  recordNanos(nanos: number | bigint): void {
    // Anything else is ignored like a bad `record` argument; dividing a symbol would throw.
    if (typeof nanos === 'number') this.record(nanos / NANOS_PER_SECOND);
    else if (typeof nanos === 'bigint') this.record(Number(nanos) / NANOS_PER_SECOND);
  }

  /**
   * Runs `fn` and records how long it took. When `fn` returns a promise (or any thenable), the
   * time until it settles is recorded. A failure is recorded too, then rethrown untouched.
   */
  time<T>(fn: () => T): T {
    const start = performance.now();
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.record((performance.now() - start) / MILLIS_PER_SECOND);
      throw error;
    }
    if (!isThenable(result)) {
      this.record((performance.now() - start) / MILLIS_PER_SECOND);
      return result;
    }
    const stop = () => this.record((performance.now() - start) / MILLIS_PER_SECOND);
    return Promise.resolve(result).then(
      (value) => {
        stop();
        return value;
      },
      (error: unknown) => {
        stop();
        throw error;
      },
    ) as T;
  }

  /**
   * Starts a stopwatch. Calling the returned function records the elapsed time (once: later
   * calls return the same duration without recording again) and returns it in seconds.
   */
  start(): () => number {
    const start = performance.now();
    let elapsed = -1;
    return () => {
      if (elapsed < 0) {
        elapsed = (performance.now() - start) / MILLIS_PER_SECOND;
        this.record(elapsed);
      }
      return elapsed;
    };
  }

  /** Number of durations recorded in the current interval. */
  countValue(): number {
    return this.count;
  }

  /** Sum of the durations recorded in the current interval, in seconds. */
  totalTimeSeconds(): number {
    return this.totalTime;
  }

  collect(reset: boolean, sink: MeasurementSink): void {
    if (this.count > 0) {
      sink('count', OP_ADD, this.count);
      sink('totalTime', OP_ADD, this.totalTime);
      sink('totalOfSquares', OP_ADD, this.totalOfSquares);
      sink('max', OP_MAX, this.max);
    }
    if (reset) this.count = this.totalTime = this.totalOfSquares = this.max = 0;
  }
}
