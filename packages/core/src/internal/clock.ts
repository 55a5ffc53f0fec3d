/**
 * Time sources, injectable so tests can move time (gauge TTLs, age gauges) without sleeping.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (like `Date.now()`). */
  wallTime(): number;
  /** Monotonic milliseconds with sub-millisecond precision (like `performance.now()`). */
  monotonicTime(): number;
}

/** The real clock. */
export const systemClock: Clock = {
  wallTime: () => Date.now(),
  monotonicTime: () => performance.now(),
};
