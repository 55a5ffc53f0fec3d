/** A measurement as seen by {@link Registry.measurements}: for inspection and tests. */
export interface Measurement {
  /** Meter name. */
  name: string;
  /** The meter's tags plus `statistic` (and `percentile` for buckets); common tags excluded. */
  tags: Record<string, string>;
  /** How the aggregator combines it: `add` sums, `max` keeps the largest. */
  op: 'add' | 'max';
  /** Current value (for add statistics: accumulated since the last publish). */
  value: number;
}
