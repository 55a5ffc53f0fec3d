/**
 * Series as a text table for a terminal (the CLI, `npm run demo`, test failure messages): one
 * section per meter name, one line per tag set, a column per tag key and per statistic, made to
 * fit a given width.
 */
import { aggregateSeries } from './aggregate-series.js';
import { canonicalTagKey } from './decode-payload.js';
import type { ReceivedBatch } from './server/batch-log.js';
import { escapeControl } from './terminal-text.js';
import {
  formatEstimate,
  formatNanos,
  summarizeSeries,
  type FormatSeriesTableOptions,
  type SeriesRow,
  type SeriesSummary,
} from './summarize-series.js';

const DEFAULT_WIDTH = 120;
const INDENT = '  ';
const GAP = '  ';
/** Tag values are shortened to no less than this to keep a row on one line… */
const SOFT_TAG_WIDTH = 16;
/** …and to no less than this when even the tags alone do not fit. */
const MIN_TAG_WIDTH = 8;
/** Statistic columns first in this order, then the others by name, then the percentiles. */
const STATISTIC_ORDER = ['count', 'totalTime', 'totalAmount', 'totalOfSquares', 'max', 'gauge'];
/** The note under a table with `≤x` cells. */
const boundedNote = (floorSeconds: number): string =>
  '≤x: an upper bound, not an estimate: the bucket estimate was above the meter’s max' +
  (floorSeconds > 0
    ? `, or fell in the bucket of the timers’ ${formatNanos(floorSeconds * 1e9)} range floor, where a percentile timer also counts every faster value.`
    : '.');

interface Column {
  header: string;
  /** Tag columns are left-aligned and may be shortened; statistic columns never are. */
  tag: boolean;
  width: number;
}

/** `s` cut to `width` with `…` in the middle, keeping both ends (`_api_use…orderId`). */
function elide(s: string, width: number): string {
  if (s.length <= width) return s;
  if (width <= 1) return '…'.slice(0, width);
  const keep = width - 1;
  const head = Math.ceil(keep / 2);
  return `${s.slice(0, head)}…${s.slice(s.length - (keep - head))}`;
}

/** Words of `text` on lines of at most `width` columns (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The statistic column ids of a name's rows, in display order. */
function statisticColumns(
  rows: readonly SeriesSummary[],
  percentiles: readonly number[],
): string[] {
  const plain = new Set<string>();
  let hasPercentiles = false;
  for (const r of rows) {
    if (r.percentiles === undefined) plain.add(r.statistic);
    else hasPercentiles = true;
  }
  const known = STATISTIC_ORDER.filter((s) => plain.has(s));
  const others = [...plain].filter((s) => !STATISTIC_ORDER.includes(s)).sort();
  return [...known, ...others, ...(hasPercentiles ? percentiles.map((p) => `p${p}`) : [])];
}

/** Width of a line of these columns after `indent` spaces. */
const lineWidth = (cols: readonly Column[], indent: number): number =>
  indent + cols.reduce((sum, c) => sum + c.width, 0) + GAP.length * Math.max(0, cols.length - 1);

/** Shortens the tag columns among `line`, widest first, down to `min`; true once it fits. */
function shrinkTags(line: readonly Column[], width: number, min: number): boolean {
  for (;;) {
    if (lineWidth(line, INDENT.length) <= width) return true;
    let widest: Column | undefined;
    for (const c of line)
      if (c.tag && c.width > min && (widest === undefined || c.width > widest.width)) widest = c;
    if (widest === undefined) return false;
    widest.width--;
  }
}

/**
 * Splits the columns into the lines of one table row. One line if shortening the tag values
 * to `SOFT_TAG_WIDTH` is enough; otherwise the first line holds the tag columns (shortened only
 * as far as they must be) and the statistic columns that fit after them, and the other
 * statistic columns continue on lines indented twice.
 */
function layOut(columns: Column[], width: number): Column[][] {
  const natural = columns.map((c) => c.width);
  if (shrinkTags(columns, width, SOFT_TAG_WIDTH)) return [columns];
  columns.forEach((c, i) => (c.width = natural[i] as number));
  const tags = columns.filter((c) => c.tag);
  shrinkTags(tags, width, MIN_TAG_WIDTH);
  const lines: Column[][] = [tags];
  for (const c of columns.filter((col) => !col.tag)) {
    const line = lines[lines.length - 1] as Column[];
    const indent = INDENT.length * lines.length;
    if (line.length > 0 && lineWidth([...line, c], indent) > width) lines.push([c]);
    else line.push(c);
  }
  return lines;
}

/** One name's section: a header line of tag keys and statistics, then one line per tag set. */
function formatSection(
  name: string,
  rows: readonly SeriesSummary[],
  percentiles: readonly number[],
  width: number,
): { lines: string[]; bounded: boolean } {
  name = escapeControl(name);
  const tagKeys = [...new Set(rows.flatMap((r) => Object.keys(r.shownTags)))].sort();
  const statistics = statisticColumns(rows, percentiles);
  // One line per tag set: its tag values and a cell per statistic.
  const meters = new Map<
    string,
    { tags: Readonly<Record<string, string>>; cells: Map<string, string> }
  >();
  let bounded = false;
  for (const r of rows) {
    let meter = meters.get(r.tags);
    if (meter === undefined) {
      meter = { tags: r.shownTags, cells: new Map() };
      meters.set(r.tags, meter);
    }
    if (r.percentiles === undefined) {
      meter.cells.set(r.statistic, r.text);
    } else {
      for (const e of r.percentiles) {
        meter.cells.set(`p${e.p}`, formatEstimate(e, r.unit === 'D' ? 'D' : 'T'));
        bounded ||= e.bounded;
      }
    }
  }
  const statHeader = (s: string): string => (s === '-' ? 'value' : s);
  const cellsOf = (m: { tags: Readonly<Record<string, string>>; cells: Map<string, string> }) => [
    ...tagKeys.map((k) => (Object.hasOwn(m.tags, k) ? escapeControl(m.tags[k] as string) : '-')),
    ...statistics.map((s) => m.cells.get(s) ?? '-'),
  ];

  // A name with one tag-less meter fits on its own line: `queue.size  gauge=7`.
  if (tagKeys.length === 0 && meters.size === 1) {
    const cells = cellsOf([...meters.values()][0]!);
    const values = statistics.map((s, i) => {
      const cell = cells[i] as string;
      return `${statHeader(s)}${cell.startsWith('≤') ? '' : '='}${cell}`;
    });
    return { lines: [[name, ...values].join(GAP)], bounded };
  }

  const body = [...meters.values()].map(cellsOf);
  const headers = [...tagKeys, ...statistics.map(statHeader)].map(escapeControl);
  const columns: Column[] = headers.map((header, i) => ({
    header,
    tag: i < tagKeys.length,
    width: Math.max(header.length, ...body.map((cells) => (cells[i] as string).length)),
  }));
  const lines = layOut(columns, width);
  const render = (cells: readonly string[]): string[] => {
    let i = 0;
    return lines.map((line, n) => {
      const text = line
        .map((c) => {
          const cell = cells[i++] as string;
          return c.tag ? elide(cell, c.width).padEnd(c.width) : cell.padStart(c.width);
        })
        .join(GAP);
      return `${INDENT.repeat(n + 1)}${text}`.trimEnd();
    });
  };
  const headerCells = columns.map((c) =>
    c.header.length > c.width ? `${c.header.slice(0, c.width - 1)}…` : c.header,
  );
  return { lines: [name, ...render(headerCells), ...body.flatMap(render)], bounded };
}

/**
 * Formats series as a text table, one section per meter name: the name on a line of its own,
 * then a header of the shown tag keys and statistics and one line per tag set — the rows of
 * {@link summarizeSeries} side by side: `count`, `totalTime`, `max`, …, then `p50` `p90`
 * `p99` estimated from the percentile buckets. Times (a timer's `totalTime` and `max`, `T`
 * percentiles) carry their unit (s / ms / µs); `≤x` marks a percentile bounded by the meter's
 * max (explained under the table). A name with a single tag-less meter takes one line. Lines
 * keep to `options.width` (default 120): long tag values are shortened in the middle, and
 * statistics that still do not fit continue on an indented line.
 *
 * @param series e.g. `server.series()` or `batch.measurements`
 * @example
 * ```ts
 * console.log(formatSeriesTable(atlas.series(), { width: process.stdout.columns }));
 * // http.latency
 * //   route  count  totalTime    max     p50     p90     p99
 * //   /x       120      1.91s  97.5ms  12.1ms  40.5ms  ≤97.5ms
 * // queue.size  gauge=7
 * ```
 */
export function formatSeriesTable(
  series: Iterable<SeriesRow>,
  options: FormatSeriesTableOptions = {},
): string {
  const all = summarizeSeries(series, options);
  if (all.length === 0) return '(no measurements)';
  const { rows, omitted } = firstTagSets(all, options.maxRows ?? Infinity);
  const width = Math.max(40, options.width ?? DEFAULT_WIDTH);
  const percentiles = options.percentiles ?? [50, 90, 99];
  const byName = new Map<string, SeriesSummary[]>();
  for (const r of rows) {
    const list = byName.get(r.name);
    if (list === undefined) byName.set(r.name, [r]);
    else list.push(r);
  }
  const out: string[] = [];
  let bounded = false;
  for (const [name, list] of byName) {
    const section = formatSection(name, list, percentiles, width);
    out.push(...section.lines);
    bounded ||= section.bounded;
  }
  if (omitted > 0) out.push(`… and ${omitted} more tag sets not shown`);
  if (bounded) out.push(...wrap(boundedNote(options.timerRangeFloor ?? 0.01), width));
  return out.join('\n');
}

/** The rows of the first `max` tag sets (name and shown tags), and how many more there were. */
function firstTagSets(
  rows: readonly SeriesSummary[],
  max: number,
): { rows: SeriesSummary[]; omitted: number } {
  if (!Number.isFinite(max)) return { rows: [...rows], omitted: 0 };
  const kept = new Set<string>();
  const others = new Set<string>();
  const out: SeriesSummary[] = [];
  for (const r of rows) {
    const key = `${r.name}\u0000${r.tags}`;
    if (kept.has(key) || (kept.size < max && others.size === 0)) {
      kept.add(key);
      out.push(r);
    } else {
      others.add(key);
    }
  }
  return { rows: out, omitted: others.size };
}

/**
 * One received batch for people: the table of its measurements (combined per tag set, see
 * {@link formatSeriesTable}), then one line per rejected measurement and the reason a refused
 * batch was refused; control characters escaped. What the `spectator-atlas-dev` CLI and
 * `npm run demo` print per batch.
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
  for (const r of batch.rejected) {
    lines.push(escapeControl(`rejected: ${r.reason} (${canonicalTagKey(r.tags)})`));
  }
  if (batch.rejectedCount > batch.rejected.length) {
    lines.push(`… and ${batch.rejectedCount - batch.rejected.length} more rejected`);
  }
  if (batch.error !== undefined)
    lines.push(escapeControl(`refused (${batch.status}): ${batch.error}`));
  return lines.join('\n');
}
