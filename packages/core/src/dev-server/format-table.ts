/**
 * Turns series into rows for people: the one place that decides which tags are shown, how rows
 * are merged and how percentile buckets become p50/p90/p99. The text table (CLI, demo, test
 * failure messages) and the series web page both read these rows.
 */
import { PERCENTILE_BUCKET_COUNT, percentileFromCounts } from '../meters/percentile-buckets.js';
import { OP_ADD, OP_MAX } from '../publish/ops.js';
import type { ReceivedBatch } from './atlas-dev-server.js';
import { aggregateSeries } from './aggregate-series.js';
import { canonicalTagKey } from './decode-payload.js';

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

/** Options of {@link summarizeSeries} and {@link formatSeriesTable}. */
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
}

/** One row for people, as produced by {@link summarizeSeries}. */
export interface SeriesSummary {
  /** Identity of the row: name, shown tags, statistic (and bucket unit). Stable across batches. */
  readonly key: string;
  readonly name: string;
  /** The shown tags as `k=v`, sorted by key, comma-separated; `''` when none. */
  readonly tags: string;
  /** The `statistic` tag, `'-'` when absent; `'percentile'` for a bucket summary. */
  readonly statistic: string;
  /** How the row's values combine over instances and time: `'sum'` (adds, buckets) or `'max'`. */
  readonly combine: 'sum' | 'max';
  /** The value of a plain row; `NaN` for a percentile row. */
  readonly value: number;
  /** Percentile rows: the estimates (nanoseconds for `T` buckets), one per requested percentile. */
  readonly percentiles?: readonly { readonly p: number; readonly value: number }[];
  /** Percentile rows: `'T'` (timer buckets, nanoseconds) or `'D'` (summary buckets, amounts). */
  readonly unit?: 'T' | 'D';
  /** The value as people read it: a number, or `p50=12.1ms p90=40.5ms p99=97.2ms`. */
  readonly text: string;
}

const BUCKET_TAG = /^([TD])([0-9A-Fa-f]{4})$/;
const MAX_STATISTICS = new Set(['max', 'gauge']);

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

type Plain = { -readonly [K in keyof SeriesSummary]: SeriesSummary[K] };
type Histogram = { row: Plain; unit: 'T' | 'D'; counts: Float64Array };

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Rows for people, sorted by name, tags and statistic. Tags shown are all but `name`,
 * `statistic`, `percentile`, `nf.*` (unless `showNfTags`) and `hideTags`. Rows with the same
 * name, shown tags and statistic are combined (adds summed, maxes kept). Percentile buckets
 * (`statistic=percentile`, `percentile=T00xx`/`D00xx`) become one `percentile` row per meter
 * with the requested percentiles estimated from the summed bucket counts — the same estimate
 * Atlas makes.
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
  const { percentiles = [50, 90, 99], showNfTags = false } = options;
  const hidden = new Set(['name', 'statistic', 'percentile', ...(options.hideTags ?? [])]);
  const hiddenStatistics = new Set(options.hideStatistics ?? []);
  const rows = new Map<string, Plain>();
  const histograms = new Map<string, Histogram>();

  for (const s of series) {
    const name = s.tags.name ?? '';
    const statistic = s.tags.statistic ?? '';
    if (hiddenStatistics.has(statistic)) continue;
    const tags = Object.keys(s.tags)
      .filter((k) => !hidden.has(k) && (showNfTags || !k.startsWith('nf.')))
      .sort()
      .map((k) => `${k}=${s.tags[k]}`)
      .join(',');
    const bucket = statistic === 'percentile' ? BUCKET_TAG.exec(s.tags.percentile ?? '') : null;
    const index = bucket ? parseInt(bucket[2] as string, 16) : -1;
    if (bucket && index < PERCENTILE_BUCKET_COUNT) {
      const unit = bucket[1] as 'T' | 'D';
      const key = `${name}\u0000${tags}\u0000percentile\u0000${unit}`;
      let h = histograms.get(key);
      if (h === undefined) {
        h = {
          row: { key, name, tags, statistic, combine: 'sum', value: NaN, unit, text: '' },
          unit,
          counts: new Float64Array(PERCENTILE_BUCKET_COUNT),
        };
        histograms.set(key, h);
      }
      h.counts[index] = (h.counts[index] ?? 0) + s.value;
      continue;
    }
    const shownStatistic = statistic || '-';
    const key = `${name}\u0000${tags}\u0000${shownStatistic}`;
    const combine =
      s.op === OP_MAX || (s.op !== OP_ADD && MAX_STATISTICS.has(statistic)) ? 'max' : 'sum';
    const row = rows.get(key);
    if (row === undefined) {
      rows.set(key, {
        key,
        name,
        tags,
        statistic: shownStatistic,
        combine,
        value: s.value,
        text: '',
      });
    } else {
      row.value = row.combine === 'max' ? Math.max(row.value, s.value) : row.value + s.value;
    }
  }

  const out: Plain[] = [];
  for (const row of rows.values()) {
    row.text = formatNumber(row.value);
    out.push(row);
  }
  for (const h of histograms.values()) {
    const estimates = percentiles.map((p) => ({ p, value: percentileFromCounts(h.counts, p) }));
    h.row.percentiles = estimates;
    h.row.text = estimates
      .map(({ p, value }) => `p${p}=${formatPercentileValue(value, h.unit)}`)
      .join(' ');
    out.push(h.row);
  }
  return out.sort(
    (a, b) =>
      cmp(a.name, b.name) ||
      cmp(a.tags, b.tags) ||
      cmp(a.statistic, b.statistic) ||
      cmp(a.key, b.key),
  );
}

/**
 * Formats series as a fixed-width table with the columns NAME, TAGS, STATISTIC, VALUE — the
 * rows of {@link summarizeSeries}: percentile buckets are not listed one per row, each meter
 * gets one `percentile` row with p50/p90/p99 estimated from its bucket counts (`T` buckets shown
 * as s/ms/µs, `D` buckets as raw amounts).
 *
 * @param series e.g. `server.series()` or `batch.measurements`
 * @example
 * ```ts
 * console.log(formatSeriesTable(atlas.series()));
 * // NAME          TAGS        STATISTIC   VALUE
 * // http.latency  route=/x    count       120
 * // http.latency  route=/x    percentile  p50=12.1ms p90=40.5ms p99=97.2ms
 * ```
 */
export function formatSeriesTable(
  series: Iterable<SeriesRow>,
  options: FormatSeriesTableOptions = {},
): string {
  const rows = summarizeSeries(series, options);
  if (rows.length === 0) return '(no measurements)';
  const header = { name: 'NAME', tags: 'TAGS', statistic: 'STATISTIC', text: 'VALUE' };
  const all = [header, ...rows.map((r) => ({ ...r, tags: r.tags || '-' }))];
  const width = (f: 'name' | 'tags' | 'statistic'): number =>
    Math.max(...all.map((r) => r[f].length));
  const wName = width('name');
  const wTags = width('tags');
  const wStat = width('statistic');
  return all
    .map((r) =>
      `${r.name.padEnd(wName)}  ${r.tags.padEnd(wTags)}  ${r.statistic.padEnd(wStat)}  ${r.text}`.trimEnd(),
    )
    .join('\n');
}

/**
 * One received batch for people: the table of its measurements (combined per tag set, see
 * {@link formatSeriesTable}), then one line per rejected measurement and the reason a refused
 * batch was refused. What the `spectator-atlas-dev` CLI and `npm run demo` print per batch.
 *
 * @example
 * ```ts
 * atlas.on('batch', (batch) => console.log(formatBatch(batch, { hideTags: ['owner'] })));
 * ```
 */
export function formatBatch(batch: ReceivedBatch, options: FormatSeriesTableOptions = {}): string {
  const lines: string[] = [];
  if (batch.measurements.length > 0) {
    lines.push(formatSeriesTable(aggregateSeries(batch.measurements), options));
  }
  for (const r of batch.rejected) lines.push(`rejected: ${r.reason} (${canonicalTagKey(r.tags)})`);
  if (batch.error !== undefined) lines.push(`refused (${batch.status}): ${batch.error}`);
  return lines.join('\n');
}
