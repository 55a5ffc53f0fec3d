/**
 * The page's sparklines: each row's value per step over the latest steps, from the stored
 * series, combined into rows exactly as the table combines their totals (`rowPlacer`), with
 * percentile rows estimated per step.
 */
import { PERCENTILE_BUCKET_COUNT } from '../percentile-buckets.js';
import type { SeriesEntry } from '../store/series-store.js';
import {
  estimatePercentiles,
  formatNanos,
  formatNumber,
  percentilesText,
  rowPlacer,
  type FormatSeriesTableOptions,
  type RowPlace,
  type SeriesSummary,
} from '../summarize-series.js';

export interface Timeline {
  /** One line per value of the row (one per percentile for a percentile row), a value per step. */
  readonly lines: number[][];
  /** The row's value in the latest step that had one, as text. */
  readonly last: string | undefined;
}

/**
 * Per row key, the lines of the rows of `entries` over steps `from…to`. A counter row with
 * nothing in a step drew 0; a gauge or percentile row has no value (`NaN`: a gap).
 */
export function stepTimelines(
  entries: readonly SeriesEntry[],
  rows: readonly SeriesSummary[],
  from: number,
  to: number,
  options: FormatSeriesTableOptions,
): Map<string, Timeline> {
  const place = rowPlacer(options);
  const placed: [SeriesEntry, RowPlace][] = [];
  for (const e of entries) {
    const at = place(e.tags, e.op);
    if (!at.hidden) placed.push([e, at]);
  }
  const out = new Map<string, { lines: number[][]; last: string | undefined }>();
  for (const row of rows) {
    const width = row.percentiles?.length ?? 1;
    out.set(row.key, { lines: Array.from({ length: width }, () => []), last: undefined });
  }
  const plain = new Map<string, number>();
  const buckets = new Map<string, Float64Array>();
  for (let step = from; step <= to; step++) {
    plain.clear();
    for (const counts of buckets.values()) counts.fill(0);
    const withBuckets = new Set<string>();
    for (const [e, at] of placed) {
      const v = e.valueAt(step);
      if (Number.isNaN(v)) continue;
      if (at.bucket !== undefined) {
        let counts = buckets.get(at.key);
        if (counts === undefined) {
          counts = new Float64Array(PERCENTILE_BUCKET_COUNT);
          buckets.set(at.key, counts);
        }
        counts[at.bucket.index] = counts[at.bucket.index]! + v;
        withBuckets.add(at.key);
      } else {
        const current = plain.get(at.key);
        plain.set(
          at.key,
          current === undefined ? v : at.combine === 'max' ? Math.max(current, v) : current + v,
        );
      }
    }
    for (const row of rows) {
      const t = out.get(row.key)!;
      if (row.percentiles !== undefined) {
        const unit = row.unit === 'D' ? 'D' : 'T';
        if (!withBuckets.has(row.key)) {
          for (const line of t.lines) line.push(NaN);
          continue;
        }
        const max = plain.get(`${row.name}\u0000${row.tags}\u0000max`);
        const estimates = estimatePercentiles(buckets.get(row.key)!, unit, max, options);
        estimates.forEach((e, i) => t.lines[i]!.push(e.value));
        t.last = percentilesText(estimates, unit);
        continue;
      }
      const v = plain.get(row.key);
      if (v === undefined) {
        t.lines[0]!.push(row.combine === 'sum' ? 0 : NaN);
        continue;
      }
      t.lines[0]!.push(v);
      t.last = row.unit === 's' ? formatNanos(v * 1e9) : formatNumber(v);
    }
  }
  return out;
}
