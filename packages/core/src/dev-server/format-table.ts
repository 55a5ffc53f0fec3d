/** Renders series as a fixed-width text table for people (the CLI, test failure messages). */
import { PERCENTILE_BUCKET_COUNT, percentileFromCounts } from '../meters/percentile-buckets.js';

/** What {@link formatSeriesTable} reads from each row: an `AtlasSeries` or a `DecodedMeasurement`. */
export interface SeriesRow {
  readonly tags: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Options of {@link formatSeriesTable}. */
export interface FormatSeriesTableOptions {
  /** Percentiles (0–100) shown for percentile timers and summaries. Default `[50, 90, 99]`. */
  percentiles?: readonly number[];
  /** Also show `nf.*` tags (the common tags). Default `false`. */
  showNfTags?: boolean;
}

const BUCKET_TAG = /^([TD])([0-9A-Fa-f]{4})$/;

function formatNumber(v: number, digits = 6): string {
  if (Number.isNaN(v)) return '-';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(digits)));
}

/** Nanoseconds as s / ms / µs / ns with 3 significant digits. */
function formatNanos(ns: number): string {
  if (Number.isNaN(ns)) return '-';
  if (ns >= 1e9) return `${formatNumber(ns / 1e9, 3)}s`;
  if (ns >= 1e6) return `${formatNumber(ns / 1e6, 3)}ms`;
  if (ns >= 1e3) return `${formatNumber(ns / 1e3, 3)}µs`;
  return `${formatNumber(ns, 3)}ns`;
}

interface Row {
  name: string;
  tags: string;
  statistic: string;
  value: string;
}

/**
 * Formats series as a fixed-width table with the columns NAME, TAGS (the other tags, `k=v`
 * sorted, without `name`, `statistic` and — unless `showNfTags` — `nf.*`), STATISTIC, VALUE,
 * sorted by name, tags and statistic. Percentile buckets (`statistic=percentile`,
 * `percentile=T00xx`/`D00xx`) are not listed one per row: each meter gets one `percentile` row
 * with p50/p90/p99 estimated from its bucket counts — `T` buckets (nanoseconds) shown as
 * s/ms/µs, `D` buckets as raw amounts. Bucket rows with the same tags are summed.
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
  const { percentiles = [50, 90, 99], showNfTags = false } = options;
  const rows: Row[] = [];
  const histograms = new Map<string, { row: Row; unit: string; counts: Float64Array }>();

  for (const s of series) {
    const name = s.tags.name ?? '';
    const statistic = s.tags.statistic ?? '';
    const tags = Object.keys(s.tags)
      .filter(
        (k) =>
          k !== 'name' &&
          k !== 'statistic' &&
          k !== 'percentile' &&
          (showNfTags || !k.startsWith('nf.')),
      )
      .sort()
      .map((k) => `${k}=${s.tags[k]}`)
      .join(',');
    const bucket = statistic === 'percentile' ? BUCKET_TAG.exec(s.tags.percentile ?? '') : null;
    const index = bucket ? parseInt(bucket[2] as string, 16) : -1;
    if (bucket && index < PERCENTILE_BUCKET_COUNT) {
      const unit = bucket[1] as string;
      const key = `${name}\u0000${tags}\u0000${unit}`;
      let h = histograms.get(key);
      if (h === undefined) {
        h = {
          row: { name, tags, statistic, value: '' },
          unit,
          counts: new Float64Array(PERCENTILE_BUCKET_COUNT),
        };
        histograms.set(key, h);
        rows.push(h.row);
      }
      h.counts[index] = (h.counts[index] ?? 0) + s.value;
    } else {
      rows.push({ name, tags, statistic: statistic || '-', value: formatNumber(s.value) });
    }
  }
  for (const h of histograms.values()) {
    h.row.value = percentiles
      .map((p) => {
        const v = percentileFromCounts(h.counts, p);
        return `p${p}=${h.unit === 'T' ? formatNanos(v) : formatNumber(v, 4)}`;
      })
      .join(' ');
  }
  if (rows.length === 0) return '(no measurements)';

  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  rows.sort((a, b) => cmp(a.name, b.name) || cmp(a.tags, b.tags) || cmp(a.statistic, b.statistic));

  const header: Row = { name: 'NAME', tags: 'TAGS', statistic: 'STATISTIC', value: 'VALUE' };
  const all = [header, ...rows];
  const width = (f: keyof Row): number => Math.max(...all.map((r) => r[f].length));
  const wName = width('name');
  const wTags = width('tags');
  const wStat = width('statistic');
  return all
    .map((r) =>
      `${r.name.padEnd(wName)}  ${(r.tags || '-').padEnd(wTags)}  ${r.statistic.padEnd(wStat)}  ${r.value}`.trimEnd(),
    )
    .join('\n');
}
