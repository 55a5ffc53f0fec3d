import type { ExcludeOption, ServerMetricsOptions, TrackedResponseLike } from '@spectator/core/ipc';

/**
 * The `node:http` request fields the middleware reads from `ctx.req`. An `IncomingMessage` (and
 * an HTTP/2 compatibility request) satisfies it.
 *
 * @example
 * ```ts
 * const req: NodeRequestLike = { method: 'GET', url: '/users/1', httpVersionMajor: 1, headers: {} };
 * ```
 */
export interface NodeRequestLike {
  /** HTTP method (recorded as `get`, `post`, `put`, `patch`, `delete`, `options` or `unknown`). */
  method?: string | undefined;
  /** Path and query as received; used for `exclude` when the context has no `originalUrl`. */
  url?: string | undefined;
  /** Not read: `ipc.protocol` comes from the connection (`stream`), not the request line. */
  httpVersionMajor?: number | undefined;
  /** The HTTP/2 stream of an HTTP/2 request (Node's `Http2ServerRequest`): `ipc.protocol=http_2`. */
  stream?: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** The connection: whether the client closed it tells a cancelled request from a dropped one. */
  socket?: { readonly readableEnded?: boolean; readonly errored?: unknown } | null | undefined;
}

/**
 * The `node:http` response fields the middleware reads from `ctx.res`. A `ServerResponse`
 * satisfies it.
 *
 * @example
 * ```ts
 * import type { ServerResponse } from 'node:http';
 * const check = (res: ServerResponse): NodeResponseLike => res;
 * ```
 */
export interface NodeResponseLike extends TrackedResponseLike {
  /** Status code sent (read when the response is done). */
  readonly statusCode: number;
  /**
   * The error the response was destroyed with, if any (Node sets it, for instance when Koa 3's
   * `stream.pipeline` fails mid-body): tells a server-side failure from a client abort.
   */
  readonly errored?: unknown;
  getHeader(name: string): number | string | string[] | undefined;
  on(event: 'close', listener: () => void): unknown;
}

/**
 * The Koa context fields the middleware reads. Koa 2 and 3 contexts (`Koa.Context`,
 * `Koa.ParameterizedContext`, `@koa/router`'s `RouterContext`) satisfy it; no Koa type is
 * imported, so the package works with either major and any typings. Use it as the type
 * argument's bound, or pass your own context type to get it in the callbacks.
 *
 * @example
 * ```ts
 * import type { Context } from 'koa';
 * spectatorMiddleware<Context>({ endpointTag: (ctx) => ctx.state.operation });
 * ```
 */
export interface KoaContextLike {
  req: NodeRequestLike;
  res: NodeResponseLike;
  /** The request URL as received (Koa sets it before any middleware); used for `exclude`. */
  originalUrl?: string | undefined;
  /**
   * Path of the `@koa/router` layer that ran last (`/api/:v/items/:id`, prefixes and nested
   * routers included); set by the router when a route matched.
   */
  _matchedRoute?: unknown;
  /** Every `@koa/router` layer whose path matched (set by the router). */
  matched?: unknown;
}

/**
 * Koa's `next`: runs the rest of the middleware chain; the middleware returns its promise as is.
 *
 * @example
 * ```ts
 * const next: KoaNext = () => Promise.resolve();
 * await spectatorMiddleware()(ctx, next);
 * ```
 */
export type KoaNext = () => Promise<unknown>;

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
  Ctx extends KoaContextLike = KoaContextLike,
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
   * `ipc.server.call.size.outbound` (from the response's `content-length`, which Koa sets for
   * string, Buffer and JSON bodies; streamed bodies are not measured). Default `false`.
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
   * Requests to leave unrecorded (no `ipc.server.call`, no inflight sample), tested once, as the
   * request arrives, against the path as received (`ctx.originalUrl` without the query string):
   * a path string (matches it and everything below: `'/health'` covers `/health/live`; compared
   * as `@koa/router` routes by default: in any case, trailing slash ignored — use a RegExp for a
   * router created with `sensitive` or `strict`), a RegExp, a predicate `(path, ctx) => boolean`,
   * or a list of these. A throwing predicate counts as "record". Default: none.
   *
   * @example `exclude: ['/health', '/metrics', (path, ctx) => ctx.req.method === 'OPTIONS']`
   */
  exclude?: ExcludeOption<Ctx>;
  /**
   * Overrides `ipc.endpoint`. Called once when the response is done, with the `@koa/router`
   * route template (`route`: what would be recorded, `undefined` when no route matched); return a
   * bounded name, or `undefined` to keep the default (the template, or `unknown` when no route
   * matched). A throwing callback falls back to the default and is warned about (once a minute at
   * most). Distinct values still count against `maxEndpoints`. Default: none.
   *
   * @example `endpointTag: (ctx, route) => (route === '/graphql' ? ctx.get('x-operation') : undefined)`
   */
  endpointTag?: (ctx: Ctx, route: string | undefined) => string | undefined;
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
   * @example `extraTags: (ctx) => ({ tenant: String(ctx.state.tenant ?? 'none') })`
   */
  extraTags?: (ctx: Ctx) => Record<string, string> | undefined;
}
