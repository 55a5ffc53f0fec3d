/**
 * `GET /api/v1/graph`: Atlas's graph API over the local store, for the formats that are text
 * (`csv`, `txt`, `json`, `std.json`; Atlas's default, `png`, is the graph page here).
 */
import { errorResponse, type ApiResponse } from './api-response.js';
import { evaluateGraph, type EvaluateGraphOptions } from './evaluate-graph.js';
import { GraphRequestError } from './expr-error.js';
import { formatGraph, GRAPH_FORMATS, type GraphFormat } from './graph-output.js';
import { checkExpressionLength } from './request-limits.js';
import type { SeriesStoreReader } from '../store/series-store.js';

/**
 * Answers a graph request from its query parameters: `q` (required), `s`, `e`, `step`, `w`,
 * `tz` (UTC), `format` (default `json`). A bad request is a 400 with Atlas's error body and the
 * failing position.
 *
 * @example `graphApi(new URLSearchParams('q=name,x,:eq&format=csv'), store)`
 */
export function graphApi(
  params: URLSearchParams,
  source: SeriesStoreReader,
  options: EvaluateGraphOptions = {},
): ApiResponse {
  try {
    const q = params.get('q');
    if (q === null) throw new GraphRequestError("missing required parameter 'q'");
    checkExpressionLength(q);
    const format = params.get('format') ?? 'json';
    if (!Object.hasOwn(GRAPH_FORMATS, format)) {
      throw new GraphRequestError(
        `format ${format} is not supported here; use ${Object.keys(GRAPH_FORMATS).join(', ')} (the graph page draws it)`,
      );
    }
    const result = evaluateGraph(
      q,
      {
        s: params.get('s'),
        e: params.get('e'),
        step: params.get('step'),
        w: params.get('w'),
        tz: params.get('tz'),
      },
      source,
      options,
    );
    const body = formatGraph(result, format as GraphFormat);
    return {
      status: 200,
      headers: {
        'content-type': GRAPH_FORMATS[format as GraphFormat],
        'cache-control': 'no-store',
      },
      body,
    };
  } catch (err) {
    if (err instanceof GraphRequestError) return errorResponse(err);
    throw err;
  }
}
