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

const hrtime = process.hrtime;

/**
 * Monotonic milliseconds with sub-microsecond precision, for timing requests: only differences
 * mean anything. `process.hrtime()` rather than `performance.now()`: on Node 20 `now()` first
 * checks its receiver's brand (a `hasOwnProperty` on `performance`), which measured ~70 ns per
 * call in a loaded server, where a request takes two (bench/README "Where the time goes").
 */
export function monotonicMillis(): number {
  const t = hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}
