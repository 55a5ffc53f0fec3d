/**
 * The endpoint's local Atlas routes, in the server's route list (so the `Host` check and the
 * method check apply to them as to every route): the graph page and its files, `GET
 * /api/v1/graph`, `GET /api/v1/tags[/<key>]`, all reading the endpoint's series store.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from '../server/responses.js';
import type { Route } from '../server/routes.js';
import type { SeriesStoreReader } from '../store/series-store.js';
import { errorResponse, type ApiResponse } from './api-response.js';
import { GraphRequestError } from './expr-error.js';
import { graphApi } from './graph-api.js';
import { graphAsset } from './graph-assets.js';
import {
  GRAPH_PAGE_CSP,
  GRAPH_PAGE_PATH,
  renderGraphPage,
  type GraphPageOptions,
} from './graph-page.js';
import { tagsApi } from './tags-api.js';

export const GRAPH_API_PATH = '/api/v1/graph';
export const TAGS_API_PATH = '/api/v1/tags';

/** Options of {@link graphRoutes}. */
export interface GraphRoutesOptions {
  /** Stored series one graph request may read. Default 10 000. */
  maxInputSeries?: number;
  /** Lines one graph may have. Default 1000. */
  maxLines?: number;
  /** The page's options. */
  page?: GraphPageOptions;
  /** Receives a line, with the error, for every request that failed with a 500. Default: silent. */
  log?: (line: string) => void;
  /** The clock (epoch ms) of `now` in the time parameters. Default `Date.now`. */
  now?: () => number;
}

function write(res: ServerResponse, r: ApiResponse): void {
  send(res, r.status, r.body, { 'x-content-type-options': 'nosniff', ...r.headers });
}

function decodeKey(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The routes over `store` (the endpoint's `atlas.store`, read at each request).
 * @example
 * ```ts
 * const routes: Route[] = [...otherRoutes, ...graphRoutes(atlas.store, { log })];
 * ```
 */
export function graphRoutes(store: SeriesStoreReader, options: GraphRoutesOptions = {}): Route[] {
  const { maxInputSeries, maxLines, log = () => {}, now = Date.now } = options;
  const html = renderGraphPage(options.page);
  const evalOptions = (): Parameters<typeof graphApi>[2] => ({
    now: now(),
    ...(maxInputSeries === undefined ? {} : { maxInputSeries }),
    ...(maxLines === undefined ? {} : { maxLines }),
  });

  /** A GET route whose answer is computed; a failure that is not the caller's is a logged 500. */
  const route = (
    path: string,
    prefix: boolean,
    answer: (url: URL) => ApiResponse | undefined,
  ): Route => ({
    path,
    prefix,
    methods: ['GET'],
    aggregatorErrors: true,
    handle: (req: IncomingMessage, res: ServerResponse, url: URL) => {
      let r: ApiResponse | undefined;
      try {
        r = answer(url);
      } catch (err) {
        log(
          `local Atlas: ${req.method} ${req.url} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
        r = errorResponse(err);
      }
      write(
        res,
        r ?? {
          status: 404,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'error', message: `path not found: ${url.pathname}` }),
        },
      );
    },
  });

  const page: ApiResponse = {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': GRAPH_PAGE_CSP,
    },
    body: html,
  };

  return [
    route(GRAPH_PAGE_PATH, true, (url) => {
      if (url.pathname === GRAPH_PAGE_PATH || url.pathname === `${GRAPH_PAGE_PATH}/`) return page;
      const asset = graphAsset(url.pathname.slice(GRAPH_PAGE_PATH.length + 1));
      if (asset === undefined) return undefined;
      const headers = { 'content-type': asset.contentType, 'cache-control': 'max-age=300' };
      return { status: 200, headers, body: asset.body };
    }),
    route(GRAPH_API_PATH, false, (url) => graphApi(url.searchParams, store, evalOptions())),
    route(TAGS_API_PATH, true, (url) => {
      const rest = url.pathname.slice(TAGS_API_PATH.length + 1);
      if (rest === '') return tagsApi(undefined, url.searchParams, store);
      const key = decodeKey(rest);
      if (key === undefined) {
        return errorResponse(new GraphRequestError(`bad percent-encoding in ${url.pathname}`));
      }
      return tagsApi(key, url.searchParams, store);
    }),
  ];
}
