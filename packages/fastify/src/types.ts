import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ExcludeOption, ServerMetricsOptions } from '@spectator/core/ipc';

/**
 * Node's request as the server received it (`request.raw` in Fastify): an `IncomingMessage`, or
 * an `Http2ServerRequest` on an `http2: true` server. `exclude` predicates get it, because they
 * run as the request arrives, before Fastify has made its own request object.
 *
 * @example
 * ```ts
 * const skipOptions = (_path: string, raw: RawRequest) => raw.method === 'OPTIONS';
 * ```
 */
export type RawRequest = IncomingMessage | Http2ServerRequest;

/**
 * Options of `spectatorPlugin` (`app.register(spectatorPlugin, options)`): everything of core's
 * `ServerMetricsOptions` plus request selection and tagging. All optional. Invalid options make
 * `app.ready()` (and `listen()`) reject with a `SpectatorConfigError`.
 *
 * @example
 * ```ts
 * await app.register(spectatorPlugin, {
 *   registry,                      // default: GlobalRegistry
 *   exclude: ['/health', /^\/static\//],
 *   percentiles: false,            // plain timer
 *   maxEndpoints: 200,
 *   statusMode: 'standard',        // 503 → unavailable
 *   bodySizes: true,
 * });
 * ```
 */
export interface SpectatorPluginOptions extends ServerMetricsOptions {
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
   * `ipc.server.call.size.outbound` (from the reply's `content-length`, which Fastify sets for
   * string, Buffer and serialized bodies; streamed bodies are not measured). Default `false`.
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
   * request arrives, against the path Fastify routes (the URL without its query string): a path
   * string (matches it and everything below: `'/health'` covers `/health/live`; compared as
   * Fastify routes: exact case unless the app was created with `caseSensitive: false`, a rule's
   * trailing slash counts unless `ignoreTrailingSlash`), a RegExp, a predicate
   * `(path, raw) => boolean` that gets Node's request (`request.raw`: Fastify has not made its
   * own yet), or a list of these. A throwing predicate counts as "record". Default: none.
   *
   * @example `exclude: ['/health', '/metrics', (path, raw) => raw.method === 'OPTIONS']`
   */
  exclude?: ExcludeOption<RawRequest>;
  /**
   * Overrides `ipc.endpoint`. Called once when the response is done, with the route template
   * (`route`: what would be recorded, `undefined` when no route matched); return a bounded name,
   * or `undefined` to keep the default (the template, or `unknown` when no route matched). Not
   * called for the answers Fastify sends before it makes a request object (a malformed URL's
   * 400, a too-long parameter's 414, 503 while closing): those are `unknown`. A throwing
   * callback falls back to the default and is warned about (once a minute at most). Distinct
   * values still count against `maxEndpoints`. Default: none.
   *
   * @example `endpointTag: (request, _reply, route) => (route === '/graphql' ? String(request.headers['x-operation']) : undefined)`
   */
  endpointTag?: (
    request: FastifyRequest,
    reply: FastifyReply,
    route: string | undefined,
  ) => string | undefined;
  /**
   * Extra tags for `ipc.server.call` (and the body-size meters), computed when the response is
   * done. Opt-in and **outside strict IPC tagging**: the IPC spec allows no other tag keys on
   * these meters, and every distinct value makes a new time series. Values from the request
   * (a user agent, a tenant header) are bounded: past `maxTagValues` distinct values per key
   * they are recorded as `_overflow` (one warning per key). Keys are 2 to 60 characters, values
   * non-empty strings, at most 6 keys (what Atlas's 20 tags per measurement leave); others are
   * left out. The standard IPC tags cannot be overridden. Not called for the answers Fastify
   * sends before it makes a request object (those are recorded without extra tags). A throwing
   * callback records the request without extra tags and is warned about (once a minute at
   * most). Meters with extra tags are looked up per request (slower). Default: none.
   *
   * @example `extraTags: (request) => ({ tenant: String(request.headers['x-tenant'] ?? 'none') })`
   */
  extraTags?: (request: FastifyRequest, reply: FastifyReply) => Record<string, string> | undefined;
}
