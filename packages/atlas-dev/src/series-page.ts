/**
 * The dev endpoint's web page: every series received, one row each (the rows of
 * `summarizeSeries`, so exactly what the text table shows), with an inline SVG sparkline of its
 * value per received batch. One self-contained HTML document: no scripts, no external assets.
 */
import { aggregateSeries, type AtlasSeries } from './aggregate-series.js';
import type { ReceivedBatch } from './atlas-dev-server.js';
import {
  formatNumber,
  summarizeSeries,
  type FormatSeriesTableOptions,
  type SeriesSummary,
} from './summarize-series.js';

/** Options of {@link renderSeriesPage}. */
export interface SeriesPageOptions extends FormatSeriesTableOptions {
  /** Reload the page every this many seconds; `0` never. Default `5`. */
  refreshSeconds?: number;
  /** Sparklines cover at most this many of the latest batches. Default `60`. */
  points?: number;
  /** Where clients publish, shown in the page header. */
  publishUri?: string;
  /** `Date.now()` to show as "now" (tests). Default: the current time. */
  now?: number;
}

/** What the page is rendered from: what a dev endpoint received (an `AtlasDevServer` is one). */
export interface SeriesPageSource {
  /** The latest batches: the sparklines are drawn from them. */
  readonly batches: readonly ReceivedBatch[];
  readonly requests: number;
  /** Batches received in all, kept or not. Default: `batches.length`. */
  readonly batchesReceived?: number;
  /** Everything received, aggregated per series (the "All batches" column). Default: `batches` aggregated. */
  series?(): readonly AtlasSeries[];
}

/** Sparkline line colour of plain rows; percentile rows use {@link PERCENTILE_COLOURS}. */
export const SPARKLINE_COLOUR = '#2563eb';
/** Sparkline colours of percentile rows: one per requested percentile, in order. */
export const PERCENTILE_COLOURS: readonly string[] = ['#16a34a', '#d97706', '#dc2626', '#7c3aed'];
const WIDTH = 160;
const HEIGHT = 28;
const PAD = 3;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function time(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/**
 * A sparkline of one or more lines over the same x axis. `NaN` is a gap. The y axis spans the
 * lines' range; `zeroBased` extends it down to 0 when every value is non-negative (counts and
 * gauges read from their base, percentile lines use the room to show how they move).
 */
function sparkline(
  lines: readonly { values: number[]; colour: string }[],
  label: string,
  zeroBased: boolean,
): string {
  const finite = lines.flatMap((l) => l.values.filter((v) => Number.isFinite(v)));
  const n = Math.max(0, ...lines.map((l) => l.values.length));
  if (finite.length === 0 || n === 0) {
    return `<svg class="spark" width="${WIDTH}" height="${HEIGHT}" role="img"><title>${escapeHtml(label)}: no values</title></svg>`;
  }
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (zeroBased && lo >= 0) lo = 0;
  if (hi === lo) hi = lo + 1;
  const x = (i: number): number =>
    n === 1 ? WIDTH - PAD : PAD + (i * (WIDTH - 2 * PAD)) / (n - 1);
  const y = (v: number): number => HEIGHT - PAD - ((v - lo) * (HEIGHT - 2 * PAD)) / (hi - lo);
  const shapes: string[] = [];
  for (const { values, colour } of lines) {
    const offset = n - values.length;
    let segment: string[] = [];
    const flush = (): void => {
      if (segment.length > 1) {
        shapes.push(
          `<polyline fill="none" stroke="${colour}" stroke-width="1.5" stroke-linejoin="round" points="${segment.join(' ')}"/>`,
        );
      } else if (segment.length === 1) {
        const [cx, cy] = (segment[0] as string).split(',');
        shapes.push(`<circle cx="${cx}" cy="${cy}" r="1.2" fill="${colour}"/>`);
      }
      segment = [];
    };
    values.forEach((v, i) => {
      if (Number.isFinite(v)) segment.push(`${x(i + offset).toFixed(1)},${y(v).toFixed(1)}`);
      else flush();
    });
    flush();
    const lastIndex = values.findLastIndex((v) => Number.isFinite(v));
    if (lastIndex >= 0) {
      const last = values[lastIndex] as number;
      shapes.push(
        `<circle cx="${x(lastIndex + offset).toFixed(1)}" cy="${y(last).toFixed(1)}" r="2.5" fill="${colour}"/>`,
      );
    }
  }
  const title = `${label}: ${n} batches, min ${formatNumber(Math.min(...finite), 4)}, max ${formatNumber(Math.max(...finite), 4)}`;
  return `<svg class="spark" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img"><title>${escapeHtml(title)}</title>${shapes.join('')}</svg>`;
}

/**
 * Each batch's rows, by row key, for the options they were made with: a page reload summarises
 * only the batches that arrived since the previous one (batches never change once received).
 */
const batchRows = new WeakMap<
  ReceivedBatch,
  { options: string; rows: Map<string, SeriesSummary> }
>();

function rowsOf(
  batch: ReceivedBatch,
  options: FormatSeriesTableOptions,
): Map<string, SeriesSummary> {
  const key = JSON.stringify([
    options.percentiles,
    options.showNfTags,
    options.hideTags,
    options.hideStatistics,
  ]);
  const cached = batchRows.get(batch);
  if (cached !== undefined && cached.options === key) return cached.rows;
  const rows = new Map(
    summarizeSeries(aggregateSeries(batch.measurements), options).map((r) => [r.key, r]),
  );
  batchRows.set(batch, { options: key, rows });
  return rows;
}

/** Per row key: the value lines of the row over the given batches (a gap where it is absent). */
function timelines(
  rows: readonly SeriesSummary[],
  batches: readonly ReceivedBatch[],
  options: FormatSeriesTableOptions,
): Map<string, { lines: number[][]; last: string | undefined }> {
  const perBatch = batches.map((b) => rowsOf(b, options));
  const out = new Map<string, { lines: number[][]; last: string | undefined }>();
  for (const row of rows) {
    const width = row.percentiles?.length ?? 1;
    const lines = Array.from({ length: width }, () => [] as number[]);
    let last: string | undefined;
    for (const summaries of perBatch) {
      const s = summaries.get(row.key);
      if (s !== undefined) last = s.text;
      for (let i = 0; i < width; i++) {
        const line = lines[i] as number[];
        if (s === undefined) {
          // A counter not published in a batch did not move; a gauge or histogram has no value.
          line.push(row.combine === 'sum' && row.percentiles === undefined ? 0 : NaN);
        } else if (s.percentiles !== undefined) {
          line.push(s.percentiles[i]?.value ?? NaN);
        } else {
          line.push(s.value);
        }
      }
    }
    out.set(row.key, { lines, last });
  }
  return out;
}

const STYLE = `
  body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px 24px; color: #111827; background: #ffffff; }
  h1 { font-size: 18px; margin: 0 0 4px; }
  p.meta { color: #4b5563; margin: 0 0 12px; }
  code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: middle; }
  th { background: #f3f4f6; font-weight: 600; position: sticky; top: 0; }
  td.name { font-weight: 600; white-space: nowrap; }
  td.tags, td.value { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
  td.tags { color: #374151; }
  td.tags span { display: inline-block; margin-right: 6px; overflow-wrap: anywhere; }
  td.value { white-space: nowrap; }
  tr.first td { border-top: 2px solid #d1d5db; }
  .legend span { margin-right: 10px; }
  .empty { padding: 24px; background: #f9fafb; border: 1px dashed #d1d5db; }
`;

/**
 * Renders the series page: a header (batches, series, last batch time, where to publish), then
 * one table row per series as {@link summarizeSeries} makes them — name, tags, statistic, the
 * value in the latest batch that had it, the value over every batch received (counts summed,
 * gauges' largest value, percentiles over all buckets) — and a sparkline of the value per batch
 * over the latest `points` batches (percentile rows: one line per percentile).
 *
 * @example
 * ```ts
 * const html = renderSeriesPage(atlas, { publishUri: atlas.publishUri, refreshSeconds: 0 });
 * ```
 */
export function renderSeriesPage(
  source: SeriesPageSource,
  options: SeriesPageOptions = {},
): string {
  const {
    refreshSeconds = 5,
    points = 60,
    publishUri,
    now = Date.now(),
    ...tableOptions
  } = options;
  const withData = source.batches.filter((b) => b.measurements.length > 0);
  const rows = summarizeSeries(
    source.series?.() ?? aggregateSeries(withData.flatMap((b) => b.measurements)),
    tableOptions,
  );
  const recent = withData.slice(-Math.max(1, points));
  const lines = timelines(rows, recent, tableOptions);
  const lastBatch = source.batches.at(-1);
  const rejected = source.batches.reduce((n, b) => n + b.rejected.length, 0);
  const refused = source.batches.filter((b) => b.error !== undefined).length;
  const percentiles = tableOptions.percentiles ?? [50, 90, 99];

  const meta = [
    `${rows.length} series`,
    `${source.batchesReceived ?? source.batches.length} batches from ${source.requests} publish requests`,
    lastBatch === undefined
      ? 'nothing received yet'
      : `last batch at ${time(lastBatch.receivedAt)} UTC`,
    ...(rejected > 0 ? [`${rejected} measurements rejected`] : []),
    ...(refused > 0 ? [`${refused} batches refused`] : []),
    `page rendered at ${time(now)} UTC`,
  ].join(' · ');

  const body: string[] = [];
  if (rows.length === 0) {
    body.push(
      `<div class="empty">No measurements received yet.${
        publishUri === undefined
          ? ''
          : ` Point a registry at <code>${escapeHtml(publishUri)}</code> (e.g. <code>SPECTATOR_URI=${escapeHtml(publishUri)}</code>).`
      }</div>`,
    );
  } else {
    body.push(
      '<table><thead><tr><th>Name</th><th>Tags</th><th>Statistic</th><th>Last batch</th><th>All batches</th><th>Per batch</th></tr></thead><tbody>',
    );
    let previousName: string | undefined;
    for (const row of rows) {
      const t = lines.get(row.key);
      const label = `${row.name} ${row.tags} ${row.statistic}`.trim();
      const svg = sparkline(
        (t?.lines ?? []).map((values, i) => ({
          values,
          colour:
            row.percentiles === undefined
              ? SPARKLINE_COLOUR
              : (PERCENTILE_COLOURS[i % PERCENTILE_COLOURS.length] as string),
        })),
        label,
        row.percentiles === undefined,
      );
      const first = row.name !== previousName;
      previousName = row.name;
      body.push(
        `<tr${first ? ' class="first"' : ''} data-series="${escapeHtml(row.key.split('\u0000').join(' '))}">` +
          `<td class="name">${escapeHtml(row.name)}</td>` +
          `<td class="tags">${
            row.tags === ''
              ? '-'
              : row.tags
                  .split(',')
                  .map((t) => `<span>${escapeHtml(t)}</span>`)
                  .join(' ')
          }</td>` +
          `<td>${escapeHtml(row.statistic)}</td>` +
          `<td class="value">${escapeHtml(t?.last ?? '-')}</td>` +
          `<td class="value">${escapeHtml(row.text)}</td>` +
          `<td>${svg}</td></tr>`,
      );
    }
    body.push('</tbody></table>');
  }

  const legend = percentiles
    .map(
      (p, i) =>
        `<span style="color:${PERCENTILE_COLOURS[i % PERCENTILE_COLOURS.length] as string}">■ p${p}</span>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
${refreshSeconds > 0 ? `<meta http-equiv="refresh" content="${refreshSeconds}">\n` : ''}<title>Spectator · Atlas dev endpoint</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Series received by the Atlas dev endpoint</h1>
<p class="meta">${escapeHtml(meta)}${publishUri === undefined ? '' : ` · publish to <code>${escapeHtml(publishUri)}</code>`}</p>
<p class="meta legend">Sparklines: value per received batch (latest ${recent.length} of ${withData.length}) · percentile rows ${legend}${refreshSeconds > 0 ? ` · reloads every ${refreshSeconds} s` : ''}</p>
${body.join('\n')}
</body>
</html>
`;
}
