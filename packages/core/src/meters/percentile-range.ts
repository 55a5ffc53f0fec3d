import { describeThrown } from '../internal/describe-thrown.js';

/** Bounds for the values a percentile meter buckets; values outside are clamped to them. */
export interface PercentileRange {
  /** Lowest value bucketed (seconds for timers, amount for summaries). */
  min?: number;
  /** Highest value bucketed (seconds for timers, amount for summaries). */
  max?: number;
}

/** A bound for a warning; `String()` alone throws for some objects. */
const show = (v: unknown): string =>
  typeof v === 'number' ? String(v) : typeof v === 'string' ? JSON.stringify(v) : typeof v;

/**
 * Resolves a range given by the app. A bad range never throws from a meter factory (that would
 * turn a typo into a failed request): it falls back to the defaults and says why.
 */
export function resolveRange(
  range: PercentileRange | undefined,
  defaults: { min: number; max: number },
): { min: number; max: number; problem?: string } {
  let min: unknown;
  let max: unknown;
  try {
    min = range?.min ?? defaults.min;
    max = range?.max ?? defaults.max;
  } catch (error) {
    // A getter or a Proxy trap: the range cannot be read, the meter still works.
    return {
      ...defaults,
      problem: `percentile range could not be read (${describeThrown(error, true)}), using ${defaults.min}…${defaults.max}`,
    };
  }
  if (typeof min !== 'number' || typeof max !== 'number' || !(min >= 0) || !(max >= min)) {
    return {
      ...defaults,
      problem: `invalid percentile range min=${show(min)} max=${show(max)}, using ${defaults.min}…${defaults.max}`,
    };
  }
  return { min, max };
}
