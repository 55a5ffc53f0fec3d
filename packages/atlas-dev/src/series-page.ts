/**
 * The dev endpoint's table page (`GET /table`, the second view after the graph page at `/`,
 * linked both ways): the meters received, in name order, at most `limit` of them,
 * filterable by name or tag text (`?q=`), one row each of what `summarizeSeries` makes of
 * their totals (exactly what the text table shows), with an inline SVG sparkline of the row's
 * value per step over the latest `points` steps. One self-contained HTML document: no
 * scripts, no external assets. Bounded in size and time at any series count.
 */
import { escapeHtml } from './page/html-escape.js';
import { GRAPH_PAGE_PATH, TABLE_PAGE_PATH } from './page/paths.js';
import type { ReceivedBatch } from './server/batch-log.js';
import { selectMeters, type MeterSource } from './page/select-meters.js';
import { stepTimelines } from './page/step-timelines.js';
import { seriesLimit, SeriesStore } from './store/series-store.js';
import {
  formatNumber,
  summarizeSeries,
  type FormatSeriesTableOptions,
} from './summarize-series.js';

/** Options of {@link renderSeriesPage}. */
export interface SeriesPageOptions extends FormatSeriesTableOptions {
  /** Reload the page every this many seconds; `0` never. Default `0`. */
  refreshSeconds?: number;
  /** Sparklines cover at most this many of the latest steps. Default `60`. */
  points?: number;
  /** Where clients publish, shown in the page header. */
  publishUri?: string;
  /** `Date.now()` to show as "now" (tests). Default: the current time. */
  now?: number;
  /**
   * Show only meters with a series whose text (`name=…,k=v,…`) holds every word of this,
   * ignoring case. Default: all.
   */
  query?: string;
  /** Meters shown at most (1…1000). Default `100`. */
  limit?: number;
}

/** What the page reads of the stored series (an `AtlasDevServer`'s `store` is one). */
export interface SeriesPageStore extends MeterSource {
  readonly stepMs: number;
  readonly newest: number;
  readonly oldest: number;
  readonly maxSeries: number;
  readonly maxTagText: number;
  readonly droppedMeasurements: number;
}

/** What the page is rendered from: what a dev endpoint received (an `AtlasDevServer` is one). */
export interface SeriesPageSource {
  /** The latest batches (the header's counts; the series when there is no `store`). */
  readonly batches: readonly ReceivedBatch[];
  readonly requests: number;
  /** Batches received in all, kept or not. Default: `batches.length`. */
  readonly batchesReceived?: number;
  /** The stored series. Default: the series of `batches`, one step per batch. */
  readonly store?: SeriesPageStore;
}

/** Sparkline line colour of plain rows; percentile rows use {@link PERCENTILE_COLOURS}. */
export const SPARKLINE_COLOUR = '#2563eb';
/** Sparkline colours of percentile rows: one per requested percentile, in order. */
export const PERCENTILE_COLOURS: readonly string[] = ['#16a34a', '#d97706', '#dc2626', '#7c3aed'];
const WIDTH = 160;
const HEIGHT = 28;
const PAD = 3;

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
  const title = `${label}: ${n} steps, min ${formatNumber(Math.min(...finite), 4)}, max ${formatNumber(Math.max(...finite), 4)}`;
  return `<svg class="spark" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img"><title>${escapeHtml(title)}</title>${shapes.join('')}</svg>`;
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
  form.filter { margin: 0 0 12px; }
  form.filter input[name=q] { width: 28em; }
  .warn { color: #b45309; font-weight: 600; }
`;

/** Meters shown by default, and at most. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** Series read for one page at most, however large a meter is. */
const MAX_PAGE_SERIES = 10_000;
/** Table rows at most (a meter can have many statistics). */
const MAX_ROWS = 2000;

/** The series of `batches`, one step per batch: the page of a plain list of batches. */
function storeOf(batches: readonly ReceivedBatch[]): SeriesStore {
  const store = new SeriesStore({
    stepMs: 1,
    historySteps: Math.max(1, batches.length),
    maxSeries: 1e8,
  });
  batches.forEach((b, i) => {
    for (const m of b.measurements) store.add(m.tags, m.op, m.value, i);
  });
  return store;
}

const pageLink = (query: string, limit: number, refresh: number): string => {
  const params = new URLSearchParams();
  if (query !== '') params.set('q', query);
  if (limit !== DEFAULT_LIMIT) params.set('limit', String(limit));
  if (refresh > 0) params.set('refresh', String(refresh));
  const text = params.toString();
  return text === '' ? TABLE_PAGE_PATH : `${TABLE_PAGE_PATH}?${text}`;
};

/**
 * Renders the series page: a header (series and meters stored, batches, last batch time,
 * measurements dropped at the series limit, where to publish), a filter form, then one table
 * row per row of {@link summarizeSeries} over the meters shown — name, tags, statistic, the
 * value in the latest step that had one, the value since the start (counts summed, gauges'
 * largest value, percentiles over all buckets) — and a sparkline of the value per step over the
 * latest `points` steps (percentile rows: one line per percentile).
 *
 * @example
 * ```ts
 * const html = renderSeriesPage(atlas, { publishUri: atlas.publishUri, query: 'ipc.server' });
 * ```
 */
export function renderSeriesPage(
  source: SeriesPageSource,
  options: SeriesPageOptions = {},
): string {
  const {
    refreshSeconds = 0,
    points = 60,
    publishUri,
    now = Date.now(),
    query = '',
    limit: askedLimit = DEFAULT_LIMIT,
    ...tableOptions
  } = options;
  const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(askedLimit) || DEFAULT_LIMIT));
  const store = source.store ?? storeOf(source.batches);
  const selection = selectMeters(store, query, limit, MAX_PAGE_SERIES);
  const allRows = summarizeSeries(
    selection.entries.map((e) => ({ tags: e.tags, value: e.total, op: e.op })),
    tableOptions,
  );
  const rows = allRows.slice(0, MAX_ROWS);
  const to = store.newest;
  const from = Math.max(store.oldest, to - Math.max(1, points) + 1);
  const lines =
    to === -Infinity ? new Map() : stepTimelines(selection.entries, rows, from, to, tableOptions);
  const steps = to === -Infinity ? 0 : to - from + 1;
  const lastBatch = source.batches.at(-1);
  const rejected = source.batches.reduce((n, b) => n + b.rejectedCount, 0);
  const refused = source.batches.filter((b) => b.error !== undefined).length;
  const percentiles = tableOptions.percentiles ?? [50, 90, 99];

  const meta = [
    `${store.size} series in ${store.meterCount} meters`,
    `${source.batchesReceived ?? source.batches.length} batches from ${source.requests} publish requests`,
    lastBatch === undefined
      ? 'nothing received yet'
      : `last batch at ${time(lastBatch.receivedAt)} UTC`,
    ...(rejected > 0 ? [`${rejected} measurements rejected`] : []),
    ...(refused > 0 ? [`${refused} batches refused`] : []),
    `page rendered at ${time(now)} UTC`,
  ].join(' · ');
  const dropped =
    store.droppedMeasurements > 0
      ? `<p class="meta warn">${store.droppedMeasurements} measurements of new series dropped: the series limit (${seriesLimit(store)}) was reached</p>\n`
      : '';

  const body: string[] = [];
  if (store.size === 0) {
    body.push(
      `<div class="empty">No measurements received yet.${
        publishUri === undefined
          ? ''
          : ` Point a registry at <code>${escapeHtml(publishUri)}</code> (e.g. <code>SPECTATOR_URI=${escapeHtml(publishUri)}</code>).`
      }</div>`,
    );
  } else if (rows.length === 0) {
    body.push(`<div class="empty">No meter matches <code>${escapeHtml(query)}</code>.</div>`);
  } else {
    body.push(
      '<table><thead><tr><th>Name</th><th>Tags</th><th>Statistic</th><th>Last step</th><th>Since start</th><th>Per step</th></tr></thead><tbody>',
    );
    let previousName: string | undefined;
    for (const row of rows) {
      const t = lines.get(row.key);
      const label = `${row.name} ${row.tags} ${row.statistic}`.trim();
      const svg = sparkline(
        (t?.lines ?? []).map((values: number[], i: number) => ({
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
                  .map((tag) => `<span>${escapeHtml(tag)}</span>`)
                  .join(' ')
          }</td>` +
          `<td>${escapeHtml(row.statistic)}</td>` +
          `<td class="value">${escapeHtml(t?.last ?? '-')}</td>` +
          `<td class="value">${escapeHtml(row.text)}</td>` +
          `<td>${svg}</td></tr>`,
      );
    }
    body.push('</tbody></table>');
    if (allRows.length > rows.length) {
      body.push(`<p class="meta">… and ${allRows.length - rows.length} more rows not shown.</p>`);
    }
  }

  const legend = percentiles
    .map(
      (p, i) =>
        `<span style="color:${PERCENTILE_COLOURS[i % PERCENTILE_COLOURS.length] as string}">■ p${p}</span>`,
    )
    .join('');
  const showing =
    store.size === 0
      ? ''
      : ` · showing ${selection.shown} of ${selection.matching} meters${query === '' ? '' : ` matching <code>${escapeHtml(query)}</code>`}`;
  const refreshLink =
    refreshSeconds > 0
      ? `reloads every ${refreshSeconds} s (<a href="${escapeHtml(pageLink(query, limit, 0))}">stop</a>)`
      : `<a href="${escapeHtml(pageLink(query, limit, 5))}">reload every 5 s</a>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
${refreshSeconds > 0 ? `<meta http-equiv="refresh" content="${refreshSeconds}">\n` : ''}<title>Spectator · Atlas dev endpoint</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Series received by the Atlas dev endpoint</h1>
<p class="meta"><a href="${escapeHtml(GRAPH_PAGE_PATH)}">Graph (local Atlas)</a> · Table of the series</p>
<p class="meta">${escapeHtml(meta)}${publishUri === undefined ? '' : ` · publish to <code>${escapeHtml(publishUri)}</code>`}</p>
${dropped}<form class="filter" method="get" action="${escapeHtml(TABLE_PAGE_PATH)}"><input name="q" value="${escapeHtml(query)}" placeholder="name or tag text, e.g. ipc.server status=200"> <input name="limit" type="number" min="1" max="${MAX_LIMIT}" value="${limit}"> <button type="submit">Filter</button>${showing}</form>
<p class="meta legend">Sparklines: value per ${formatNumber(store.stepMs / 1000)} s step (latest ${steps}) · percentile rows ${legend} · ${refreshLink}</p>
${body.join('\n')}
</body>
</html>
`;
}
