/**
 * Turns series into rows for people: the one place that decides which tags are shown, how rows
 * are merged, how percentile buckets become p50/p90/p99 and in which unit a value is shown. The
 * text table (CLI, demo, test failure messages) and the series web page both read these rows.
 */
import { compareStrings } from './compare-strings.js';
import {
  PERCENTILE_BUCKET_COUNT,
  percentileBucketBound,
  percentileBucketIndex,
  percentileFromCounts,
} from './percentile-buckets.js';
import { OP_ADD, OP_MAX } from './ops.js';

/**
 * What {@link summarizeSeries} reads from each row: an `AtlasSeries` or a `DecodedMeasurement`.
 * `op` (`0` add, `10` max) says how rows that end up with the same shown tags are combined;
 * without it, `statistic=max|gauge` rows keep the largest value and the others are summed.
 */
export interface SeriesRow {
  readonly tags: Readonly<Record<string, string>>;
  readonly value: number;
  readonly op?: number;
}

/** Options of {@link summarizeSeries} and `formatSeriesTable`. */
export interface FormatSeriesTableOptions {
  /** Percentiles (0–100) shown for percentile timers and summaries. Default `[50, 90, 99]`. */
  percentiles?: readonly number[];
  /** Also show `nf.*` tags (the common tags). Default `false`. */
  showNfTags?: boolean;
  /**
   * Tag keys not shown (e.g. `['owner', 'ipc.protocol']`). Rows that then look alike are
   * combined: adds summed, maxes kept, percentile buckets merged. Default: none.
   */
  hideTags?: readonly string[];
  /** Statistics left out entirely (e.g. `['totalOfSquares']`). Default: none. */
  hideStatistics?: readonly string[];
  /**
   * The range floor of percentile timers, in seconds: a percentile timer counts faster values
   * in the floor's bucket, so an estimate in that bucket is shown as an upper bound (`≤11.2ms`
   * for the 10 ms floor) rather than as a made-up value. Default `0.01`, Spectator's default
   * (`min`); `0` turns it off.
   */
  timerRangeFloor?: number;
  /**
   * Text table only: the widest a line may be, in columns (e.g. `process.stdout.columns`);
   * long tag values are shortened in the middle (`_api_use…orderId`) to fit. `Infinity`: no
   * limit. Default `120`.
   */
  width?: number;
  /**
   * Text table only: the most tag sets (lines of values) shown; the rest are counted in a
   * last line. Default: all.
   */
  maxRows?: number;
}

/** One percentile estimate of a percentile row. */
export interface PercentileEstimate {
  readonly p: number;
  /** Nanoseconds for `T` buckets, amounts for `D`; see `bounded`. */
  readonly value: number;
  /**
   * `value` is an upper bound, not an estimate: the true percentile is at most this. Either
   * the bucket estimate was above the largest value the meter saw (its `max` row, same tags),
   * so `value` is that max — the top bucket is wider than the values in it — or it fell in the
   * bucket of the timer's range floor (`timerRangeFloor`), where a percentile timer also counts
   * every faster value, so `value` is that bucket's upper bound (or the max, if lower).
   */
  readonly bounded: boolean;
}

/** One row for people, as produced by {@link summarizeSeries}. */
export interface SeriesSummary {
  /** Identity of the row: name, shown tags, statistic (and bucket unit). Stable across batches. */
  readonly key: string;
  readonly name: string;
  /** The shown tags as `k=v`, sorted by key, comma-separated; `''` when none. */
  readonly tags: string;
  /** The shown tags as an object (the same as `tags`). */
  readonly shownTags: Readonly<Record<string, string>>;
  /** The `statistic` tag, `'-'` when absent; `'percentile'` for a bucket summary. */
  readonly statistic: string;
  /** How the row's values combine over instances and time: `'sum'` (adds, buckets) or `'max'`. */
  readonly combine: 'sum' | 'max';
  /** The value of a plain row; `NaN` for a percentile row. */
  readonly value: number;
  /** Percentile rows: the estimates, one per requested percentile. */
  readonly percentiles?: readonly PercentileEstimate[];
  /**
   * `'T'` / `'D'`: a percentile row of timer (nanoseconds) or summary (amounts) buckets.
   * `'s'`: a timer's `totalTime` or `max`, in seconds (shown as s / ms / µs like the
   * percentiles). Absent: a plain number.
   */
  readonly unit?: 'T' | 'D' | 's';
  /** The value as people read it: `15`, `1.79ms`, or `p50=12.1ms p90=40.5ms p99≤97.2ms`. */
  readonly text: string;
}

const BUCKET_TAG = /^([TD])([0-9A-Fa-f]{4})$/;
const MAX_STATISTICS = new Set(['max', 'gauge']);
/** Statistics of a timer that are seconds (`totalOfSquares` is s², left a plain number). */
const SECONDS_STATISTICS = new Set(['totalTime', 'max']);

/** A number with at most `digits` significant digits, integers as they are, `NaN` as `-`. */
export function formatNumber(v: number, digits = 6): string {
  if (Number.isNaN(v)) return '-';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(digits)));
}

/** Nanoseconds as s / ms / µs / ns with 3 significant digits. */
export function formatNanos(ns: number): string {
  if (Number.isNaN(ns)) return '-';
  if (ns >= 1e9) return `${formatNumber(ns / 1e9, 3)}s`;
  if (ns >= 1e6) return `${formatNumber(ns / 1e6, 3)}ms`;
  if (ns >= 1e3) return `${formatNumber(ns / 1e3, 3)}µs`;
  return `${formatNumber(ns, 3)}ns`;
}

/** A percentile estimate in the row's unit: time units for `T`, 4 significant digits for `D`. */
export function formatPercentileValue(value: number, unit: 'T' | 'D'): string {
  return unit === 'T' ? formatNanos(value) : formatNumber(value, 4);
}

/** One estimate as shown in a cell: `12.1ms`, or `≤1.79ms` when bounded by the meter's max. */
export function formatEstimate(e: PercentileEstimate, unit: 'T' | 'D'): string {
  return `${e.bounded ? '≤' : ''}${formatPercentileValue(e.value, unit)}`;
}

type Plain = { -readonly [K in keyof SeriesSummary]: SeriesSummary[K] };
type Histogram = { row: Plain; unit: 'T' | 'D'; counts: Float64Array };

/** The bucket (nanoseconds, `low` exclusive) that holds a timer's range floor, in seconds. */
function floorBucket(seconds: number): { low: number; high: number } | undefined {
  if (!(seconds > 0) || !Number.isFinite(seconds)) return undefined;
  const index = percentileBucketIndex(seconds * 1e9);
  return {
    low: index === 0 ? 0 : percentileBucketBound(index - 1),
    high: percentileBucketBound(index),
  };
}

/** The given keys of `tags`, without tripping over `__proto__` (a valid Atlas key). */
function pick(
  tags: Readonly<Record<string, string>>,
  keys: readonly string[],
): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, tags[k] as string]));
}
const meterKey = (name: string, tags: string): string => `${name}\u0000${tags}`;

/** Where one series lands among the rows of {@link summarizeSeries}. */
export interface RowPlace {
  /** The row's key (see `SeriesSummary.key`). */
  readonly key: string;
  readonly name: string;
  /** The shown tags as `k=v,…`. */
  readonly tags: string;
  readonly shownTags: Readonly<Record<string, string>>;
  /** The row's statistic: `'-'` when none, `'percentile'` for a bucket. */
  readonly statistic: string;
  /** A percentile bucket: its unit and index. */
  readonly bucket?: { readonly unit: 'T' | 'D'; readonly index: number };
  readonly combine: 'sum' | 'max';
  /** Name and shown tags: the meter the row belongs to. */
  readonly meter: string;
  /** The series shows its meter is a timer (a `totalTime`, or `T` buckets). */
  readonly timer: boolean;
  /** Its statistic is left out (`hideStatistics`): it makes no row. */
  readonly hidden: boolean;
}

/**
 * Places series among rows as {@link summarizeSeries} does with these options: which row a
 * series adds to, and how. Lets a caller follow rows over time without summarising anew.
 * @example `const place = rowPlacer({ hideTags: ['owner'] }); place(tags, 0).key`
 */
export function rowPlacer(
  options: FormatSeriesTableOptions = {},
): (tags: Readonly<Record<string, string>>, op?: number) => RowPlace {
  const showNfTags = options.showNfTags ?? false;
  const hidden = new Set(['name', 'statistic', 'percentile', ...(options.hideTags ?? [])]);
  const hiddenStatistics = new Set(options.hideStatistics ?? []);
  return (t, op) => {
    const name = t.name ?? '';
    const statistic = t.statistic ?? '';
    const shownKeys = Object.keys(t)
      .filter((k) => !hidden.has(k) && (showNfTags || !k.startsWith('nf.')))
      .sort();
    const tags = shownKeys.map((k) => `${k}=${t[k]}`).join(',');
    const match = statistic === 'percentile' ? BUCKET_TAG.exec(t.percentile ?? '') : null;
    const index = match ? parseInt(match[2] as string, 16) : -1;
    const bucket =
      match !== null && index < PERCENTILE_BUCKET_COUNT
        ? { unit: match[1] as 'T' | 'D', index }
        : undefined;
    const common = {
      name,
      tags,
      shownTags: pick(t, shownKeys),
      meter: meterKey(name, tags),
      timer: statistic === 'totalTime' || bucket?.unit === 'T',
      hidden: hiddenStatistics.has(statistic),
    };
    if (bucket !== undefined) {
      return {
        ...common,
        key: `${name}\u0000${tags}\u0000percentile\u0000${bucket.unit}`,
        statistic,
        bucket,
        combine: 'sum',
      };
    }
    const shownStatistic = statistic || '-';
    return {
      ...common,
      key: `${name}\u0000${tags}\u0000${shownStatistic}`,
      statistic: shownStatistic,
      combine: op === OP_MAX || (op !== OP_ADD && MAX_STATISTICS.has(statistic)) ? 'max' : 'sum',
    };
  };
}

/**
 * The percentiles of bucket `counts` as Atlas estimates them, bounded as the rows show them:
 * above the meter's largest value (`max`, seconds for timers) → `≤max`; in the bucket of the
 * timers' range floor → `≤` that bucket's upper bound (or the max, if lower).
 */
export function estimatePercentiles(
  counts: ArrayLike<number>,
  unit: 'T' | 'D',
  max: number | undefined,
  options: FormatSeriesTableOptions = {},
): PercentileEstimate[] {
  const floor = unit === 'T' ? floorBucket(options.timerRangeFloor ?? 0.01) : undefined;
  // The meter's largest value in the bucket unit: seconds → nanoseconds for timers.
  const ceiling =
    max === undefined || Number.isNaN(max)
      ? Number.POSITIVE_INFINITY
      : max * (unit === 'T' ? 1e9 : 1);
  return (options.percentiles ?? [50, 90, 99]).map((p): PercentileEstimate => {
    const value = percentileFromCounts(counts, p);
    const inFloor = floor !== undefined && value > floor.low && value <= floor.high;
    const bound = Math.min(ceiling, inFloor ? floor.high : Number.POSITIVE_INFINITY);
    return value > ceiling || inFloor
      ? { p, value: bound, bounded: true }
      : { p, value, bounded: false };
  });
}

/** A percentile row's text: `p50=12.1ms p90=40.5ms p99≤97.2ms`. */
export const percentilesText = (
  estimates: readonly PercentileEstimate[],
  unit: 'T' | 'D',
): string =>
  estimates.map((e) => `p${e.p}${e.bounded ? '' : '='}${formatEstimate(e, unit)}`).join(' ');

/**
 * Rows for people, sorted by name, tags and statistic. Tags shown are all but `name`,
 * `statistic`, `percentile`, `nf.*` (unless `showNfTags`) and `hideTags`. Rows with the same
 * name, shown tags and statistic are combined (adds summed, maxes kept). Percentile buckets
 * (`statistic=percentile`, `percentile=T00xx`/`D00xx`) become one `percentile` row per meter
 * with the requested percentiles estimated from the summed bucket counts — the same estimate
 * Atlas makes — except that an estimate above the meter's own `max` is shown as `≤max`
 * (`bounded`). A timer's `totalTime` and `max` (seconds) are shown in time units, like its
 * percentiles.
 *
 * @param series e.g. `server.series()` or `batch.measurements`
 * @example
 * ```ts
 * for (const row of summarizeSeries(atlas.series())) console.log(row.name, row.tags, row.text);
 * ```
 */
export function summarizeSeries(
  series: Iterable<SeriesRow>,
  options: FormatSeriesTableOptions = {},
): SeriesSummary[] {
  const place = rowPlacer(options);
  const rows = new Map<string, Plain>();
  const histograms = new Map<string, Histogram>();
  /** Meters (name + shown tags) that are timers: they have a totalTime or T buckets. */
  const timers = new Set<string>();

  for (const s of series) {
    const at = place(s.tags, s.op);
    if (at.timer) timers.add(at.meter);
    if (at.hidden) continue;
    const { key, name, tags, shownTags, statistic, combine } = at;
    if (at.bucket !== undefined) {
      const { unit, index } = at.bucket;
      let h = histograms.get(key);
      if (h === undefined) {
        h = {
          row: { key, name, tags, shownTags, statistic, combine, value: NaN, unit, text: '' },
          unit,
          counts: new Float64Array(PERCENTILE_BUCKET_COUNT),
        };
        histograms.set(key, h);
      }
      h.counts[index] = (h.counts[index] ?? 0) + s.value;
      continue;
    }
    const row = rows.get(key);
    if (row === undefined) {
      rows.set(key, { key, name, tags, shownTags, statistic, combine, value: s.value, text: '' });
    } else {
      row.value = row.combine === 'max' ? Math.max(row.value, s.value) : row.value + s.value;
    }
  }

  const out: Plain[] = [];
  for (const row of rows.values()) {
    if (SECONDS_STATISTICS.has(row.statistic) && timers.has(meterKey(row.name, row.tags))) {
      row.unit = 's';
      row.text = formatNanos(row.value * 1e9);
    } else {
      row.text = formatNumber(row.value);
    }
    out.push(row);
  }
  for (const h of histograms.values()) {
    const { name, tags } = h.row;
    const max = rows.get(`${name}\u0000${tags}\u0000max`);
    const estimates = estimatePercentiles(
      h.counts,
      h.unit,
      max?.combine === 'max' ? max.value : undefined,
      options,
    );
    h.row.percentiles = estimates;
    h.row.text = percentilesText(estimates, h.unit);
    out.push(h.row);
  }
  return out.sort(
    (a, b) =>
      compareStrings(a.name, b.name) ||
      compareStrings(a.tags, b.tags) ||
      compareStrings(a.statistic, b.statistic) ||
      compareStrings(a.key, b.key),
  );
}
