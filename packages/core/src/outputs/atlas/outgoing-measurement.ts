import type { AtlasOp } from '../../meters/ops.js';

/** One measurement on its way to the aggregator. */
export interface OutgoingMeasurement {
  /** Flat sanitized `[k0, v0, …]` tags of the meter, including `name` and common tags. */
  readonly tags: readonly string[];
  readonly statistic: string;
  /** `percentile` tag value for percentile buckets. */
  readonly percentile: string | undefined;
  readonly op: AtlasOp;
  readonly value: number;
}
