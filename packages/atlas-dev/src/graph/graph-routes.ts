/**
 * The endpoint's local Atlas routes, in the server's route list (so the `Host` check and the
 * method check apply to them as to every route): the graph page (`GET /`) and its files
 * (`/assets/<name>`), `GET /api/v1/graph`, `GET /api/v1/tags[/<key>]`, all reading the
 * endpoint's series store.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { send, sendDiagnostic } from '../server/responses.js';
import type { Route } from '../server/routes.js';
import type { SeriesStoreReader } from '../store/series-store.js';
import { errorResponse, type ApiResponse } from './api-response.js';
import { GraphRequestError } from './expr-error.js';
import { graphApi } from './graph-api.js';
import { graphAsset } from './graph-assets.js';
import { GRAPH_API_PATH, GRAPH_PAGE_PATH, PAGE_ASSETS_PATH, TAGS_API_PATH } from '../page/paths.js';
import { GRAPH_PAGE_CSP, renderGraphPage, type GraphPageOptions } from './graph-page.js';
import { tagsApi } from './tags-api.js';

/** Options of {@link graphRoutes}. */
export interface GraphRoutesOptions {
  /** Stored series one graph request may read. Default 10 000. */
  maxInputSeries?: number;
  /** Lines one graph may have. Default 1000. */
  maxLines?: number;
  /** The page's options, asked for at each request (default: the store's step). */
  page?: () => GraphPageOptions;
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
  const pageOptions = options.page ?? (() => ({}));
  const evalOptions = (): Parameters<typeof graphApi>[2] => ({
    now: now(),
    ...(maxInputSeries === undefined ? {} : { maxInputSeries }),
    ...(maxLines === undefined ? {} : { maxLines }),
  });

  /**
   * A GET route whose answer is computed; a failure that is not the caller's is a logged 500.
   * The APIs answer another method in JSON, as Atlas does; the page in plain text, as the table.
   */
  const route = (
    path: string,
    prefix: boolean,
    answer: (url: URL) => ApiResponse | undefined,
    aggregatorErrors = true,
  ): Route => ({
    path,
    prefix,
    methods: ['GET'],
    aggregatorErrors,
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
      // A file under a folder that is not there: the endpoint's 404 for any unknown path.
      if (r === undefined) sendDiagnostic(res, 404, `path not found: ${url.pathname}`);
      else write(res, r);
    },
  });

  const page = (): ApiResponse => ({
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': GRAPH_PAGE_CSP,
    },
    body: renderGraphPage({ stepMs: store.stepMs, ...pageOptions() }),
  });

  return [
    route(GRAPH_PAGE_PATH, false, page, false),
    route(PAGE_ASSETS_PATH, true, (url) => {
      const asset = graphAsset(url.pathname.slice(PAGE_ASSETS_PATH.length + 1));
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
