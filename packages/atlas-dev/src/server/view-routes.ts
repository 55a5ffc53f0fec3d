/** The read-only views of what the endpoint received: the web page and the series API. */
import { renderSeriesPage, type SeriesPageOptions, type SeriesPageSource } from '../series-page.js';
import type { SeriesStore } from '../store/series-store.js';
import { send } from './responses.js';
import type { Route } from './routes.js';
import { intParam, seriesPage } from './series-api.js';

/** `GET <path>`: the series page; `?q=` filters, `?limit=` meters, `?refresh=` seconds. */
export function pageRoute(
  path: string,
  source: SeriesPageSource,
  options: () => SeriesPageOptions,
): Route {
  return {
    path,
    methods: ['GET'],
    handle: (_req, res, url) => {
      const html = renderSeriesPage(source, {
        ...options(),
        refreshSeconds: intParam(url.searchParams, 'refresh', 0, 3600),
        query: url.searchParams.get('q') ?? '',
        limit: intParam(url.searchParams, 'limit', 100, 1000),
      });
      send(res, 200, html, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
    },
  };
}

/** `GET <path>`: the stored series as JSON, a page at a time (see `seriesPage`). */
export function seriesRoute(path: string, store: SeriesStore): Route {
  return {
    path,
    methods: ['GET'],
    handle: (_req, res, url) => {
      send(res, 200, seriesPage(store, url.searchParams), {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      });
    },
  };
}
