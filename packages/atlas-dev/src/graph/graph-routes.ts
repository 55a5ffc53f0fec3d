/**
 * The dev server's local Atlas routes: `GET /graph` (the page and its files), `GET
 * /api/v1/graph`, `GET /api/v1/tags[/<key>]`. The server hands every request it does not serve
 * itself to {@link GraphRoutes.handle}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorResponse, type ApiResponse } from './api-response.js';
import { GraphRequestError } from './expr-error.js';
import { BatchSeriesCache, observedPublishStepMs, type TimedBatch } from './batch-series-store.js';
import { graphApi } from './graph-api.js';
import { graphAsset } from './graph-assets.js';
import {
  GRAPH_PAGE_CSP,
  GRAPH_PAGE_PATH,
  renderGraphPage,
  type GraphPageOptions,
} from './graph-page.js';
import type { SeriesStoreReader } from './series-source.js';
import { tagsApi } from './tags-api.js';

const GRAPH_API = '/api/v1/graph';
const JSON_TYPE = { 'content-type': 'application/json' };
const TAGS_API = '/api/v1/tags';
/** The step before two publish intervals were seen (the demo's default interval). */
const DEFAULT_STEP_MS = 3000;

/** Options of {@link createGraphRoutes}. */
export interface GraphRoutesOptions {
  /**
   * Step of the time series, in ms (an integer in 100…3 600 000), when the source is batches.
   * Default: the interval at which batches arrive (the publish interval), 3000 until two
   * intervals were seen.
   */
  stepMs?: number;
  /** Stored series one graph request may read. Default 10 000. */
  maxInputSeries?: number;
  /** Lines one graph may have. Default 1000. */
  maxLines?: number;
  /** The page's options. */
  page?: GraphPageOptions;
  /** Receives a line, with the error, for every request that failed with a 500. Default: silent. */
  log?: (line: string) => void;
}

/**
 * What the routes read: the batches a dev server keeps (bucketed into steps here), or a
 * time-series store's reader, asked for at each request.
 */
export type GraphRoutesSource =
  { readonly batches: readonly TimedBatch[] } | (() => SeriesStoreReader);

export interface GraphRoutes {
  /** Answers the request if it is one of these routes; `false` (nothing sent) otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** The series as the routes see them now. */
  reader(): SeriesStoreReader;
}

function send(req: IncomingMessage, res: ServerResponse, r: ApiResponse): void {
  const length = typeof r.body === 'string' ? Buffer.byteLength(r.body) : r.body.length;
  res.writeHead(r.status, {
    'x-content-type-options': 'nosniff',
    ...r.headers,
    'content-length': String(length),
  });
  res.end(req.method === 'HEAD' ? undefined : r.body);
}

function decodeKey(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The routes over `source`: a dev server's batches, or a store's reader.
 * @throws TypeError for a `stepMs` that is not an integer in 100…3 600 000
 * @example
 * ```ts
 * const graph = createGraphRoutes(devServer, { stepMs: 5000 });
 * if (graph.handle(req, res)) return;
 * ```
 */
export function createGraphRoutes(
  source: GraphRoutesSource,
  options: GraphRoutesOptions = {},
): GraphRoutes {
  const { stepMs, maxInputSeries, maxLines, log = () => {} } = options;
  if (stepMs !== undefined && !(Number.isInteger(stepMs) && stepMs >= 100 && stepMs <= 3_600_000)) {
    throw new TypeError(`stepMs must be an integer in 100…3600000, got ${stepMs}`);
  }
  const html = renderGraphPage(options.page);
  const cache = new BatchSeriesCache();
  const reader =
    typeof source === 'function'
      ? source
      : (): SeriesStoreReader =>
          cache.get(
            source.batches,
            stepMs ?? observedPublishStepMs(source.batches) ?? DEFAULT_STEP_MS,
          );
  const evalOptions = {
    ...(maxInputSeries === undefined ? {} : { maxInputSeries }),
    ...(maxLines === undefined ? {} : { maxLines }),
  };

  const page = (): ApiResponse => ({
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': GRAPH_PAGE_CSP,
    },
    body: html,
  });

  /** The handler of `pathname`, if it is one of these routes. */
  const match = (pathname: string): ((url: URL) => ApiResponse) | undefined => {
    if (pathname === GRAPH_PAGE_PATH || pathname === `${GRAPH_PAGE_PATH}/`) return page;
    if (pathname.startsWith(`${GRAPH_PAGE_PATH}/`)) {
      const asset = graphAsset(pathname.slice(GRAPH_PAGE_PATH.length + 1));
      if (asset === undefined) return undefined;
      const headers = { 'content-type': asset.contentType, 'cache-control': 'max-age=300' };
      return () => ({ status: 200, headers, body: asset.body });
    }
    if (pathname === GRAPH_API) return (url) => graphApi(url.searchParams, reader(), evalOptions);
    if (pathname === TAGS_API || pathname === `${TAGS_API}/`) {
      return (url) => tagsApi(undefined, url.searchParams, reader());
    }
    if (pathname.startsWith(`${TAGS_API}/`)) {
      const key = decodeKey(pathname.slice(TAGS_API.length + 1));
      if (key === undefined) {
        return () => errorResponse(new GraphRequestError(`bad percent-encoding in ${pathname}`));
      }
      return (url) => tagsApi(key, url.searchParams, reader());
    }
    return undefined;
  };

  return {
    reader,
    handle(req, res) {
      let answer: ApiResponse;
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const handler = match(url.pathname);
        if (handler === undefined) return false;
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.setHeader('allow', 'GET, HEAD');
          const message = `method not allowed: ${req.method}`;
          answer = {
            status: 405,
            headers: JSON_TYPE,
            body: JSON.stringify({ type: 'error', message }),
          };
        } else {
          answer = handler(url);
        }
      } catch (err) {
        log(
          `local Atlas: ${req.method} ${req.url} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
        answer = errorResponse(err);
      }
      send(req, res, answer);
      return true;
    },
  };
}
