/**
 * What the graph API reads: time series at a fixed step, as the endpoint's bounded store keeps
 * them. The graph code depends on this interface only, never on how batches are stored.
 */

/** One stored time series: a tag set and its values per step. */
export interface StoredSeries {
  /** Every tag, `name`, `statistic` and `percentile` included. */
  readonly tags: Readonly<Record<string, string>>;
  /** `0` add: values summed within a step (a count, shown as a rate); `10` max: largest kept. */
  readonly op: 0 | 10;
  /**
   * Values per step, oldest first; `NaN` where nothing arrived. `values[i]` covers
   * `[startMs + i*stepMs, startMs + (i+1)*stepMs)`.
   */
  readonly values: Float64Array;
}

/** A read view of a time-series store; see {@link StoredSeries}. */
export interface SeriesStoreReader {
  /** Width of a step in milliseconds. */
  readonly stepMs: number;
  /** Start of the oldest step kept (a multiple of `stepMs`). */
  readonly startMs: number;
  /** End of the newest step. */
  readonly endMs: number;
  /** The series whose tags `match`, at most `limit` of them (default: all). */
  select(
    match: (tags: Readonly<Record<string, string>>) => boolean,
    limit?: number,
  ): StoredSeries[];
  /** Every tag key of any series, sorted. */
  tagKeys(): string[];
  /** Every value of `key` in any series, sorted. */
  tagValues(key: string): string[];
}
