/**
 * The graph page, the endpoint's main page (`GET /`): choose a meter and a tag to group by, or
 * write any supported expression, and see its lines drawn by uPlot; the link to the page keeps
 * the expression and the time range. The HTML holds nothing a client published: everything
 * from payloads is fetched and inserted by the page's script as text, and the content security
 * policy allows only the endpoint's own scripts.
 */
import { escapeHtml } from '../page/html-escape.js';
import { PAGE_ASSETS_PATH, TABLE_PAGE_PATH, TAGS_API_PATH } from '../page/paths.js';
import { DEFAULT_STEP_MS } from '../store/series-store.js';
import { formatNumber } from '../summarize-series.js';

/** Line colours, in order; a line's colour is its index modulo their number. */
export const GRAPH_LINE_COLOURS: readonly string[] = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#bcbd22',
  '#7f7f7f',
];

/** Options of {@link renderGraphPage}. */
export interface GraphPageOptions {
  /** The page draws at most this many lines (and says so). Default 20. */
  maxLines?: number;
  /** How often the page redraws while auto-refresh is on, in ms. Default 5000. */
  refreshMs?: number;
  /**
   * The endpoint's step in ms (`stepMs`, `--step-ms`), stated on the page: counters are a rate
   * over it. Default 5000.
   */
  stepMs?: number;
  /** Where clients publish, shown while nothing was received. */
  publishUri?: string;
}

/** The content security policy of the page: its own scripts, styles and API only. */
export const GRAPH_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const RANGES = [
  ['e-5m', 'last 5 minutes'],
  ['e-10m', 'last 10 minutes'],
  ['e-30m', 'last 30 minutes'],
  ['e-1h', 'last hour'],
  ['e-3h', 'last 3 hours'],
] as const;

/**
 * The page's HTML. It holds no data: the script asks `/api/v1/tags` and `/api/v1/graph`.
 * @example `renderGraphPage({ maxLines: 20 })`
 */
export function renderGraphPage(options: GraphPageOptions = {}): string {
  const { maxLines = 20, refreshMs = 5000, stepMs = DEFAULT_STEP_MS, publishUri } = options;
  if (!Number.isInteger(maxLines) || maxLines < 1)
    throw new TypeError(`maxLines must be a positive integer, got ${maxLines}`);
  if (!Number.isInteger(refreshMs) || refreshMs < 100)
    throw new TypeError(`refreshMs must be an integer ≥ 100, got ${refreshMs}`);
  const ranges = RANGES.map(
    ([value, text]) =>
      `<option value="${value}"${value === 'e-10m' ? ' selected' : ''}>${text}</option>`,
  ).join('');
  const step = `${formatNumber(stepMs / 1000)} s`;
  const publish =
    publishUri === undefined
      ? ''
      : ` Point a registry at <code>${escapeHtml(publishUri)}</code> (e.g. <code>SPECTATOR_URI=${escapeHtml(publishUri)}</code>).`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Spectator · local Atlas</title>
<link rel="stylesheet" href="${PAGE_ASSETS_PATH}/uPlot.min.css">
<link rel="stylesheet" href="${PAGE_ASSETS_PATH}/graph-page.css">
<script src="${PAGE_ASSETS_PATH}/uPlot.iife.min.js" defer></script>
<script src="${PAGE_ASSETS_PATH}/graph-page.js" defer></script>
</head>
<body data-max-lines="${maxLines}" data-refresh-ms="${refreshMs}" data-colours="${escapeHtml(GRAPH_LINE_COLOURS.join(','))}" data-table-path="${escapeHtml(TABLE_PAGE_PATH)}" data-state="loading">
<h1>Local Atlas</h1>
<p class="meta">Graph · <a id="table-link" href="${escapeHtml(TABLE_PAGE_PATH)}">Table of the series</a> · <a href="${escapeHtml(TAGS_API_PATH)}">tags</a></p>
<p class="meta" id="semantics">Atlas's graph API and stack language over what the dev endpoint received, per step of <strong>${step}</strong>: counters are drawn as a rate per second over the step, gauges and max as values, timers in seconds. The step is the endpoint's, configured (<code>stepMs</code>, <code>--step-ms</code>; default 5 s, a registry's default publish interval): set it to your registry's publish interval.</p>
<div id="empty" class="empty" hidden>No measurements received yet.${publish}</div>
<form id="graph-form">
<div class="row">
<label>Meter <select id="meter"></select></label>
<label>Group by <select id="group"><option value="">(none)</option></select></label>
<label>Range <select id="range">${ranges}</select></label>
<label><input type="checkbox" id="auto" checked> auto-refresh</label>
<span id="status"></span>
</div>
<label for="expr">Expression (Atlas stack language)</label>
<textarea id="expr" spellcheck="false" placeholder="name,ipc.server.call,:eq,(,ipc.endpoint,),:by"></textarea>
<div class="row">
<button type="submit">Graph</button>
<input id="link" readonly aria-label="link to this graph">
<button type="button" id="copy">Copy link</button>
</div>
</form>
<div id="error" role="alert" hidden></div>
<div id="chart"></div>
<p id="notice"></p>
</body>
</html>
`;
}
