/**
 * `GET /api/series`: the stored series with their running totals, as JSON, a page at a time.
 *
 * Parameters: `q` (only series whose `name=…,k=v,…` text holds every word, ignoring case),
 * `offset` (default 0), `limit` (default 1000, at most 10000). The answer:
 * `{ total, offset, limit, series: [{ tags, name, op, value, updates }…], storedSeries,
 * maxSeries, droppedMeasurements }` — `total` the series that match, `droppedMeasurements`
 * those of new series not stored once `maxSeries` were.
 */
import type { AtlasSeries } from '../aggregate-series.js';
import { textFilter } from '../page/select-meters.js';
import type { SeriesEntry, SeriesStore } from '../store/series-store.js';

export const DEFAULT_SERIES_LIMIT = 1000;
export const MAX_SERIES_LIMIT = 10_000;

/** One stored series as `series()` and `/api/series` give it. */
export const toAtlasSeries = (e: SeriesEntry): AtlasSeries => ({
  tags: e.tags,
  name: e.name,
  op: e.op,
  value: e.total,
  updates: e.updates,
});

/** A non-negative integer query parameter, or `fallback` when absent or not one. */
export function intParam(
  params: URLSearchParams,
  name: string,
  fallback: number,
  max: number,
): number {
  const text = params.get(name);
  if (text === null || !/^\d{1,9}$/.test(text)) return fallback;
  return Math.min(max, Number(text));
}

export function seriesPage(store: SeriesStore, params: URLSearchParams): string {
  const matches = textFilter(params.get('q') ?? '');
  const offset = intParam(params, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(params, 'limit', DEFAULT_SERIES_LIMIT, MAX_SERIES_LIMIT);
  const all = store.entries();
  const matching = matches === undefined ? all : all.filter((e) => matches(e.text));
  return JSON.stringify({
    total: matching.length,
    offset,
    limit,
    series: matching.slice(offset, offset + limit).map(toAtlasSeries),
    storedSeries: store.size,
    maxSeries: store.maxSeries,
    droppedMeasurements: store.droppedMeasurements,
  });
}
