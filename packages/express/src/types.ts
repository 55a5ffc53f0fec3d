import type { ExcludeOption, ServerMetricsOptions, TrackedResponseLike } from '@spectator/core/ipc';

/**
 * The request fields the middleware reads. Express 4 and 5 requests (and `node:http`
 * `IncomingMessage`s) satisfy it; no Express type is imported, so the package works with either
 * major's typings.
 */
export interface ExpressRequestLike {
  /** HTTP method (recorded as `get`, `post`, `put`, `patch`, `delete`, `options` or `unknown`). */
  method?: string | undefined;
  /** Path and query relative to the mount point. */
  url?: string | undefined;
  /** Path and query as received (Express sets it); used for `exclude`. */
  originalUrl?: string | undefined;
  /** Not read: `ipc.protocol` comes from the connection (`stream`), not the request line. */
  httpVersionMajor?: number | undefined;
  /** The HTTP/2 stream of an HTTP/2 request (Node's `Http2ServerRequest`): `ipc.protocol=http_2`. */
  stream?: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** The `Route` Express dispatched to (its `path` is the template). */
  route?: unknown;
  /** The Express application handling the request. */
  app?: unknown;
  /** The connection: whether the client closed it tells a cancelled request from a dropped one. */
  socket?: { readonly readableEnded?: boolean; readonly errored?: unknown } | null | undefined;
}

/** The response fields the middleware reads. Express 4 and 5 responses satisfy it. */
export interface ExpressResponseLike extends TrackedResponseLike {
  /** Status code sent (read when the response is done). */
  readonly statusCode: number;
  getHeader(name: string): number | string | string[] | undefined;
  on(event: 'close', listener: () => void): unknown;
}

/** Express's `next`. */
export type NextFunctionLike = (err?: unknown) => void;

/**
 * Options of {@link spectatorMiddleware}: everything of core's `ServerMetricsOptions` plus
 * request selection and tagging.
 *
 * @example
 * ```ts
 * app.use(
 *   spectatorMiddleware({
 *     registry,                      // default: GlobalRegistry
 *     exclude: ['/health', /^\/static\//],
 *     percentiles: false,            // plain timer
 *     maxEndpoints: 200,
 *     statusMode: 'standard',        // 503 → unavailable
 *     bodySizes: true,
 *   }),
 * );
 * ```
 */
export interface SpectatorMiddlewareOptions<
  Req extends ExpressRequestLike = ExpressRequestLike,
  Res extends ExpressResponseLike = ExpressResponseLike,
> extends ServerMetricsOptions {
  /**
   * Registry to record into. Default: `GlobalRegistry` (the process-global registry).
   *
   * @example `registry: new Registry({ uri: 'http://localhost:7101/api/v4/update' })`
   */
  registry?: ServerMetricsOptions['registry'];
  /**
   * Record `ipc.server.call` as a percentile timer (`true`, the default) or as a plain timer
   * (`false`: count, totalTime, totalOfSquares, max; no `percentile` series — much cheaper on
   * the backend).
   *
   * @example `percentiles: false`
   */
  percentiles?: boolean;
  /**
   * Most distinct `ipc.endpoint` values; requests of later endpoints are recorded as
   * `_overflow` and one warning is logged. Default `1000`.
   *
   * @example `maxEndpoints: 200`
   */
  maxEndpoints?: number;
  /**
   * How HTTP statuses map to `ipc.status`: `'netflix'` (default) treats 503 as 429
   * (`throttled`); `'standard'` maps 503 to `unavailable`.
   *
   * @example `statusMode: 'standard'`
   */
  statusMode?: ServerMetricsOptions['statusMode'];
  /**
   * Also record `ipc.server.call.size.inbound` (from the request's `content-length`) and
   * `ipc.server.call.size.outbound` (from the response's `content-length`, when set; chunked
   * responses are not measured). Default `false`.
   *
   * @example `bodySizes: true`
   */
  bodySizes?: boolean;
  /**
   * Read the caller's Netflix headers, as Java Spectator does: `Netflix-ASG` →
   * `ipc.client.asg`, `ipc.client.app`, `ipc.client.cluster` (app and cluster parsed from the
   * server group name); `Netflix-Vip` → `ipc.vip` (also on `ipc.server.inflight`);
   * `Netflix-Ingress-Common-IPC-Metrics: true` → the request is not recorded (a proxy in front
   * recorded it). Default `true`. The caller chooses these values: they are sanitized and bounded
   * (`maxTagValues`). Turn it off when untrusted clients reach the app directly, since the last
   * header lets a client hide its requests from the metrics.
   *
   * @example `netflixHeaders: false`
   */
  netflixHeaders?: boolean;
  /**
   * Most distinct values per Netflix header tag and per `extraTags` key; later ones are recorded
   * as `_overflow`, with one warning per key. Default `25` (Java Spectator's default per IPC
   * tag).
   *
   * @example `maxTagValues: 100`
   */
  maxTagValues?: number;
  /**
   * Requests to leave unrecorded (no `ipc.server.call`, no inflight sample), tested against the
   * request path as received (`req.originalUrl` without the query string): a path string
   * (matches it and everything below: `'/health'` covers `/health/live`; compared as Express
   * routes: in any case unless the app enables `case sensitive routing`, and with `strict
   * routing` a rule's trailing slash counts), a RegExp, a predicate `(path, req) => boolean`, or
   * a list of these. A throwing predicate counts as "record". Default: none.
   *
   * @example `exclude: ['/health', '/metrics', (path, req) => req.method === 'OPTIONS']`
   */
  exclude?: ExcludeOption<Req>;
  /**
   * Overrides `ipc.endpoint`. Called once when the response is done, with the route template
   * (`route`: what would be recorded, `undefined` when no route matched); return a bounded name,
   * or `undefined` to keep the default (the template, or `unknown` when no route matched). A
   * throwing callback falls back to the default and is warned about (once a minute at most).
   * Distinct values still count against `maxEndpoints`. Default: none.
   *
   * @example `endpointTag: (req, _res, route) => (route === '/graphql' ? req.get('x-operation') : undefined)`
   */
  endpointTag?: (req: Req, res: Res, route: string | undefined) => string | undefined;
  /**
   * Extra tags for `ipc.server.call` (and the body-size meters), computed when the response is
   * done. Opt-in and **outside strict IPC tagging**: the IPC spec allows no other tag keys on
   * these meters, and every distinct value makes a new time series. Values from the request
   * (a user agent, a tenant header) are bounded: past `maxTagValues` distinct values per key
   * they are recorded as `_overflow` (one warning per key). Keys are 2 to 60 characters, values
   * non-empty strings, at most 6 keys (what Atlas's 20 tags per measurement leave); others are
   * left out. The standard IPC tags cannot be overridden. A throwing callback records the request without
   * extra tags and is warned about (once a minute at most). Meters with extra tags are looked up
   * per request (slower). Default: none.
   *
   * @example `extraTags: (req) => ({ tenant: String(req.headers['x-tenant'] ?? 'none') })`
   */
  extraTags?: (req: Req, res: Res) => Record<string, string> | undefined;
}
