/**
 * `@spectator/atlas-dev`: the one local Atlas-aggregator-compatible publish endpoint used
 * by this project's tests and examples and by users on a laptop (also runnable as the
 * `spectator-atlas-dev` CLI). Not meant for production traffic.
 *
 * @example
 * ```ts
 * import { startAtlasDevServer, formatSeriesTable } from '@spectator/atlas-dev';
 *
 * const atlas = await startAtlasDevServer(); // 127.0.0.1, free port, POST /api/v4/update
 * // … point a registry at atlas.publishUri and publish …
 * await atlas.waitFor((s) => s.find('server.requestCount', { status: '200' }).length > 0);
 * console.log(formatSeriesTable(atlas.series()));
 * console.log('graph them at', atlas.pageUrl); // a local Atlas; the table is at atlas.tableUrl
 * await atlas.close();
 * ```
 *
 * @packageDocumentation
 */

/**
 * Start the endpoint (defaults: port 0, host `127.0.0.1`, path `/api/v4/update`, body cap
 * 8 MiB, silent); the returned {@link AtlasDevServer} answers as the aggregator does, records
 * batches, stores series per step, waits for predicates and injects faults via `respondWith`.
 * @example `const atlas = await startAtlasDevServer({ log: console.log });`
 */
export {
  startAtlasDevServer,
  type AtlasDevServer,
  type AtlasDevServerOptions,
  type AtlasDevFault,
  type ReceivedBatch,
} from './atlas-dev-server.js';

/**
 * Decode one aggregator batch exactly as the aggregator does; never throws.
 * @example `const r = decodeAtlasPayload(JSON.parse(body)); if (r.ok) r.measurements;`
 */
export {
  decodeAtlasPayload,
  decodeAtlasBody,
  canonicalTagKey,
  type DecodeOptions,
  type DecodeParts,
  type DecodeResult,
  type DecodedMeasurement,
  type RejectedMeasurement,
} from './decode-payload.js';

/**
 * The stored series: per series, values per step over a bounded window and running totals
 * (`atlas.store`); `SeriesStoreReader` is what readers such as a graph API code against.
 * @example `atlas.store.select((t) => t.name === 'requests').map((s) => s.values)`
 */
export {
  SeriesStore,
  type SeriesEntry,
  type SeriesStoreOptions,
  type SeriesStoreReader,
  type StoredSeries,
} from './store/series-store.js';

/**
 * Text made safe for a terminal: control and bidi characters shown as escapes.
 * @example `escapeControl('a\x1b[2J')` // 'a\\x1b[2J'
 */
export { escapeControl } from './terminal-text.js';

/**
 * Combine measurements per tag set and op: adds summed, maxes kept.
 * @example `aggregateSeries(batch.measurements)`
 */
export { aggregateSeries, type AtlasSeries } from './aggregate-series.js';

/**
 * Series for people: rows with shown tags and p50/p90/p99 from percentile buckets
 * (`summarizeSeries`), as a text table that fits a terminal (`formatSeriesTable`), per received
 * batch (`formatBatch`).
 * @example `console.log(formatSeriesTable(atlas.series(), { hideTags: ['owner'], width: 100 }))`
 */
export {
  summarizeSeries,
  formatNumber,
  formatNanos,
  type FormatSeriesTableOptions,
  type PercentileEstimate,
  type SeriesRow,
  type SeriesSummary,
} from './summarize-series.js';
export { formatSeriesTable, formatBatch } from './format-table.js';

/**
 * The table page the endpoint serves at `GET /table`: the meters received (bounded,
 * filterable), a row per statistic with an inline SVG sparkline per step.
 * @example `const html = renderSeriesPage(atlas, { query: 'ipc.server' })`
 */
export {
  renderSeriesPage,
  SPARKLINE_COLOUR,
  PERCENTILE_COLOURS,
  type SeriesPageOptions,
  type SeriesPageSource,
  type SeriesPageStore,
} from './series-page.js';

/**
 * A local Atlas over what the endpoint received (the graph page at `GET /`, `GET /api/v1/graph`,
 * `GET /api/v1/tags`): the stack language subset (`parseExpression`), evaluation over a series
 * store (`evaluateGraph`), Atlas's csv/txt/json answers (`formatGraph`).
 * @example
 * ```ts
 * const result = evaluateGraph('name,requests,:eq,(,status,),:by', { s: 'e-5m' }, atlas.store);
 * console.log(formatGraph(result, 'csv'));
 * ```
 */
export {
  evaluateGraph,
  type EvaluateGraphOptions,
  type GraphLine,
  type GraphResult,
} from './graph/evaluate-graph.js';
export { formatGraph, type GraphFormat } from './graph/graph-output.js';
export { parseExpression } from './graph/interpreter.js';
export { GraphRequestError, type ExprPosition } from './graph/expr-error.js';
export type { GraphTimeParams } from './graph/graph-time.js';
export { renderGraphPage, GRAPH_LINE_COLOURS, type GraphPageOptions } from './graph/graph-page.js';

/**
 * Where the endpoint serves its pages and read APIs: the graph page at `/`, the table at
 * `/table`, `/api/series`, `/api/v1/graph`, `/api/v1/tags`, the page's files under `/assets`.
 * @example
 * ```ts
 * const csv = await fetch(`${atlas.url}${GRAPH_API_PATH}?q=name,requests,:eq,:sum&format=csv`);
 * ```
 */
export {
  GRAPH_PAGE_PATH,
  TABLE_PAGE_PATH,
  PAGE_ASSETS_PATH,
  SERIES_API_PATH,
  GRAPH_API_PATH,
  TAGS_API_PATH,
} from './page/paths.js';
