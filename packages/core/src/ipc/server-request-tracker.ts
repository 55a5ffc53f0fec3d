import type { Tags } from '../ids/id.js';
import {
  announcedSocket,
  followOnSocket,
  lastFollowedOn,
  listenToHttp1Channels,
  type FollowedResponse,
} from './http1-channels.js';
import { measuredByIngress, requestPeer, type NetflixPeer } from './netflix-headers.js';
import { checkServerTrackingOptions } from './server-options.js';
import { IpcServerRecorder, type ServerMetricsOptions } from './server-recorder.js';
import {
  nodeRefusalStatus,
  responseEnding,
  type EndingResponseLike,
  type EndingSocketLike,
} from './response-ending.js';

/** The response fields the tracker reads: a Node `ServerResponse` or `Http2ServerResponse`. */
export interface TrackedResponseLike extends EndingResponseLike {
  readonly statusCode: number;
  getHeader(name: string): unknown;
  /** `close` records the request; `finish` (HTTP/1) tells that it was delivered. */
  on(event: 'close' | 'finish', listener: () => void): unknown;
}

/** The request fields the tracker reads: a Node `IncomingMessage` or `Http2ServerRequest`. */
export interface TrackedRequestLike {
  readonly method?: string | undefined;
  /**
   * `1` on an HTTP/1 connection (Node's `IncomingMessage`), which needs no look for `stream`;
   * anything else (`2`, absent) has `stream` read to tell the connection's protocol.
   */
  readonly httpVersionMajor?: number | undefined;
  /** Node's lower-cased header names: `content-length` and the Netflix headers are read. */
  readonly headers?: Readonly<Record<string, unknown>> | undefined;
  /**
   * The HTTP/2 stream of an HTTP/2 request (`Http2ServerRequest`); absent on HTTP/1. It gives
   * `ipc.protocol`: the connection's protocol, not the version the request line claims.
   */
  readonly stream?: unknown;
  /** Tells whether the client closed the connection of a response cut short. */
  readonly socket?: EndingSocketLike | null | undefined;
  /** `close` tells of a pipelined request whose connection dropped while it waited its turn. */
  on?(event: 'close', listener: () => void): unknown;
}

/**
 * What an adapter knows about its framework's request context (`Ctx`: the Express request, the
 * Koa context, the Node request of a Nest app, …): where the Node request is, the path for
 * `exclude`, and what the framework only knows once it has routed and answered the request.
 */
export interface ServerRequestReader<Ctx> {
  request(ctx: Ctx): TrackedRequestLike;
  /** Path as received, without the query string (what `exclude` rules test). */
  path(ctx: Ctx): string;
  /** Route template, `undefined` when no route matched. Read when the response is done. */
  routeTemplate(ctx: Ctx): string | undefined;
  /**
   * A response header as sent, for frameworks that hand their headers to `writeHead()`, where
   * `res.getHeader()` cannot see them (Fastify). Default: `res.getHeader(name)`. Read when the
   * response is done.
   */
  responseHeader?(ctx: Ctx, res: TrackedResponseLike, name: string): unknown;
}

/** {@link ServerMetricsOptions} plus the per-request callbacks, already bound to `Ctx`. */
export interface ServerTrackingOptions<Ctx> extends ServerMetricsOptions {
  /** True for requests to leave unrecorded (see `compileExclude`). */
  exclude?: ((path: string, ctx: Ctx) => boolean) | undefined;
  /**
   * Overrides `ipc.endpoint`; gets the route template (`undefined` when no route matched) and
   * returns a non-empty string, or anything else to keep the template.
   */
  endpointTag?:
    ((ctx: Ctx, res: TrackedResponseLike, route: string | undefined) => unknown) | undefined;
  /** Extra tags for `ipc.server.call` (opt-in, leaves strict IPC tagging). */
  extraTags?: ((ctx: Ctx, res: TrackedResponseLike) => unknown) | undefined;
}

/**
 * `http.status` recorded when the server cut a response short after an error (a failed stream,
 * `res.destroy()`, a destroyed socket): what the framework answers for an error it can still
 * report, so the request counts as `unexpected_error` rather than as the client's doing.
 *
 * @example
 * ```ts
 * const status = responseEnding(res, req.socket) === 'server-error' ? SERVER_ERROR_STATUS : res.statusCode;
 * ```
 */
export const SERVER_ERROR_STATUS = 500;

/**
 * The request lifecycle every server adapter shares: records each request once through
 * {@link IpcServerRecorder} when its response is done, with the final status, `cancelled` when
 * the client went away, or a 500 when the server cut the response short. A request of Node's own
 * HTTP/1 server, handed to `track` as it arrives, is followed through Node's diagnostics channels
 * and its socket's `close` (`http1-channels.ts`); any other (HTTP/2, an injected request, one
 * that reached `track` after others had arrived) through its response's `close` and `finish`.
 * User callbacks run inside `try`: one that throws is warned about (through the registry's
 * logger, once a minute at most) and the request is recorded without it. Nothing here throws
 * into the app, and the response is never changed.
 *
 * @example
 * ```ts
 * const tracker = new ServerRequestTracker('spectator-koa', options, {
 *   request: (ctx) => ctx.req,
 *   path: (ctx) => ctx.path,
 *   routeTemplate: (ctx) => ctx._matchedRoute,
 * });
 * app.use((ctx, next) => { tracker.track(ctx, ctx.res); return next(); });
 * ```
 */
export class ServerRequestTracker<Ctx> {
  private readonly recorder: IpcServerRecorder;
  private readonly reader: ServerRequestReader<Ctx>;
  private readonly exclude: ServerTrackingOptions<Ctx>['exclude'];
  private readonly endpointTag: ServerTrackingOptions<Ctx>['endpointTag'];
  private readonly extraTags: ServerTrackingOptions<Ctx>['extraTags'];
  private readonly bodySizes: boolean;
  private readonly netflixHeaders: boolean;
  private readonly recordFollowed: FollowedRequest<Ctx>['record'];
  /** Responses listened to (the path without Node's channels), so that one is tracked once. */
  private readonly listenedTo = new WeakSet<object>();

  /**
   * Throws `SpectatorConfigError` for invalid options (see `checkServerMetricsOptions`; a
   * callback that is not a function is `ERR_SPECTATOR_INVALID_OPTION`).
   */
  constructor(
    owner: string,
    options: ServerTrackingOptions<Ctx>,
    reader: ServerRequestReader<Ctx>,
  ) {
    checkServerTrackingOptions(options, owner);
    this.recorder = new IpcServerRecorder(owner, options);
    this.reader = reader;
    this.exclude = options.exclude;
    this.endpointTag = options.endpointTag;
    this.extraTags = options.extraTags;
    this.bodySizes = options.bodySizes === true;
    this.netflixHeaders = options.netflixHeaders !== false;
    this.recordFollowed = (request, began, delivered) => {
      try {
        this.finish(request.ctx, request.req, request.res, began, request.peer, false, delivered);
      } catch (error) {
        // Called from Node's diagnostics channel or a socket's `close`: must not throw.
        this.recorder.warn('track', () => `could not record a request: ${String(error)}`);
      }
    };
    listenToHttp1Channels();
  }

  /**
   * Starts tracking one request (call it before the framework routes it); the request is
   * recorded once, when `res`, its Node response, closes. Excluded requests, and requests a
   * proxy already measured (`Netflix-Ingress-Common-IPC-Metrics: true`), are ignored. Never
   * throws.
   */
  track(ctx: Ctx, res: TrackedResponseLike): void {
    try {
      const exclude = this.exclude;
      if (exclude !== undefined && this.excluded(exclude, ctx)) return;
      // Every field of req and res is read at most once per request, and only where needed: in
      // a real Express app each request and response has a hidden class of its own (Express
      // swaps their prototypes and adds `res.locals`), so every read misses its inline cache.
      const req = this.reader.request(ctx);
      let peer: NetflixPeer | undefined;
      if (this.netflixHeaders) {
        const headers = req.headers;
        if (headers !== undefined && headers !== null) {
          if (measuredByIngress(headers)) return;
          peer = requestPeer(headers);
        }
      }
      // An HTTP/1 request Node's server just announced: followed on its socket through Node's
      // channels, with nothing added to (or read from) the response (see http1-channels.ts).
      const socket = announcedSocket(res);
      if (socket !== undefined) {
        // The same request reaching this tracker again (the middleware used on an app and on a
        // sub-app it mounts) is recorded once (regression: twice, and in flight twice).
        if (this.followsLast(socket, res)) return;
        const followed = new FollowedRequest(this.recordFollowed, ctx, req, res, peer);
        followOnSocket(socket, followed);
        followed.start = this.recorder.begin(peer);
        return;
      }
      // Tracked already, by listeners or (reached again after an await) on its socket.
      if (this.listenedTo.has(res) || this.followsLast(req.socket, res)) return;
      this.listenedTo.add(res);
      // The connection's protocol: an HTTP/1 parser accepts `GET / HTTP/2.0` and reports
      // httpVersionMajor 2 for it (regression: such a request was recorded as http_2), so only
      // the HTTP/2 stream proves HTTP/2; HTTP/1 requests (major 1) skip that absent field.
      const http2 = req.httpVersionMajor !== 1 && isPresent(req.stream);
      // HTTP/1: `finish` says the response was delivered, so its `close` needs no look at the
      // response's state (`writableFinished` is a getter reading four fields). HTTP/2 compat
      // responses emit `finish` even for a stream the client cancelled: judged at `close`.
      let delivered = false;
      if (!http2)
        res.on('finish', () => {
          delivered = true;
        });
      // Negative until `begin` ran: a response we could not listen to is never counted in
      // flight, and a second `close` records nothing.
      let start = -1;
      const settle = () => {
        if (start < 0) return;
        const began = start;
        start = -1;
        this.finish(ctx, req, res, began, peer, http2, delivered);
      };
      res.on('close', settle);
      // A pipelined HTTP/1 response still waiting behind another when its connection drops
      // never gets a socket, so never emits `close` (regression: such a request was never
      // recorded, and stayed counted in flight).
      if (!http2 && typeof req.on === 'function')
        req.on('close', () => {
          if (start >= 0) settleIfQueued(req, res, settle);
        });
      start = this.recorder.begin(peer);
    } catch (error) {
      // Metrics must never fail a request; this one goes unrecorded.
      this.recorder.warn('track', () => `could not track a request: ${String(error)}`);
    }
  }

  /**
   * Whether `res` is the request this tracker followed last on `socket`: the one a request
   * reaching the tracker twice finds (a request pipelined behind it would hide it; rare enough
   * to leave).
   */
  private followsLast(socket: unknown, res: object): boolean {
    if (typeof socket !== 'object' || socket === null) return false;
    const last = lastFollowedOn(socket) as Partial<FollowedRequest<Ctx>> | undefined;
    return last !== undefined && last.res === res && last.record === this.recordFollowed;
  }

  /**
   * Records one closed request; always reaches the recorder, so inflight stays right.
   * `delivered`: an HTTP/1 response emitted `finish`.
   */
  private finish(
    ctx: Ctx,
    req: TrackedRequestLike,
    res: TrackedResponseLike,
    start: number,
    peer: NetflixPeer | undefined,
    http2: boolean,
    delivered: boolean,
  ): void {
    let method = 'UNKNOWN';
    let status = 0;
    const httpVersionMajor = http2 ? 2 : 1;
    let cancelled = false;
    let finished = false;
    try {
      // Not delivered (or HTTP/2): the response's and the socket's state tell how it ended.
      // `responseEnding` also knows an HTTP/1 response as finished when `finish` fired before
      // the tracker listened.
      // A pipelined response still queued when its connection went (it never had the socket)
      // was never answered, whoever closed the connection: cancelled. (Node 24 shows a client's
      // close differently on the socket than Node 20, so the socket cannot tell here.)
      const ending = delivered
        ? 'finished'
        : !http2 && res.socket === null && res.writableFinished !== true
          ? 'cancelled'
          : responseEnding(res, req.socket);
      finished = ending === 'finished';
      cancelled = ending === 'cancelled';
      method = req.method ?? 'UNKNOWN';
      status = ending === 'server-error' ? serverErrorStatus(req, res) : res.statusCode;
    } catch {
      // Unreadable fields keep their defaults; the request is still recorded.
    }
    let endpoint: string | undefined;
    try {
      endpoint = this.reader.routeTemplate(ctx);
    } catch {
      // No template: recorded as unmatched.
    }
    const endpointTag = this.endpointTag;
    if (endpointTag !== undefined) endpoint = this.customEndpoint(endpointTag, ctx, res, endpoint);
    const extraTags = this.extraTags;
    const tags = extraTags === undefined ? undefined : this.customTags(extraTags, ctx, res);
    let inbound: number | undefined;
    let outbound: number | undefined;
    if (this.bodySizes) {
      try {
        inbound = contentLength(req.headers?.['content-length']);
        // A HEAD, 204 or 304 response announces a length it does not send; a cut-short one did
        // not send it all.
        if (finished && method !== 'HEAD' && status !== 204 && status !== 304)
          outbound = contentLength(this.responseHeader(ctx, res, 'content-length'));
      } catch {
        // Unreadable headers: sizes unknown.
      }
    }
    this.recorder.endRequest(
      start,
      method,
      status,
      endpoint,
      httpVersionMajor,
      cancelled,
      tags,
      inbound,
      outbound,
      peer,
    );
  }

  private responseHeader(ctx: Ctx, res: TrackedResponseLike, name: string): unknown {
    const reader = this.reader;
    return reader.responseHeader === undefined
      ? res.getHeader(name)
      : reader.responseHeader(ctx, res, name);
  }

  private excluded(exclude: (path: string, ctx: Ctx) => boolean, ctx: Ctx): boolean {
    try {
      return exclude(this.reader.path(ctx), ctx) === true;
    } catch (error) {
      this.recorder.warn(
        'exclude',
        () => `exclude could not be applied; request recorded (${String(error)})`,
      );
      return false;
    }
  }

  private customEndpoint(
    endpointTag: (ctx: Ctx, res: TrackedResponseLike, route: string | undefined) => unknown,
    ctx: Ctx,
    res: TrackedResponseLike,
    route: string | undefined,
  ): string | undefined {
    try {
      const tag = endpointTag(ctx, res, route);
      return typeof tag === 'string' && tag !== '' ? tag : route;
    } catch (error) {
      this.recorder.warn(
        'endpointTag',
        () => `endpointTag threw; recorded with the route template (${String(error)})`,
      );
      return route;
    }
  }

  private customTags(
    extraTags: (ctx: Ctx, res: TrackedResponseLike) => unknown,
    ctx: Ctx,
    res: TrackedResponseLike,
  ): Tags | undefined {
    try {
      const tags = extraTags(ctx, res);
      return typeof tags === 'object' && tags !== null ? (tags as Tags) : undefined;
    } catch (error) {
      this.recorder.warn(
        'extraTags',
        () => `extraTags threw; request recorded without them (${String(error)})`,
      );
      return undefined;
    }
  }
}

/**
 * One HTTP/1 request followed on its socket (see http1-channels.ts) until its response finishes
 * or the connection closes; `record` (the tracker's) records it once.
 */
class FollowedRequest<Ctx> implements FollowedResponse {
  /** Negative until `begin` ran, and once recorded. */
  start = -1;
  nextOnSocket: FollowedResponse | undefined = undefined;

  constructor(
    readonly record: (request: FollowedRequest<Ctx>, start: number, delivered: boolean) => void,
    readonly ctx: Ctx,
    readonly req: TrackedRequestLike,
    readonly res: TrackedResponseLike,
    readonly peer: NetflixPeer | undefined,
  ) {}

  settle(delivered: boolean): void {
    const began = this.start;
    if (began < 0) return;
    this.start = -1;
    this.record(this, began, delivered);
  }
}

/** A request's socket, as {@link settleIfQueued} listens to it. */
interface QueueSocket extends EndingSocketLike {
  once?(event: 'close', listener: () => void): unknown;
  off?(event: 'close', listener: () => void): unknown;
}

/**
 * At the `close` of a request not yet recorded: when its response is still queued behind another
 * on the connection (no socket yet, not finished; a finished one has let its socket go too),
 * settles it once the connection is gone — now, or, when the request closed because its body was
 * read while it waited (Node closes a request then), at the connection's `close`, unless the
 * response got the socket and closed first.
 */
function settleIfQueued(
  req: TrackedRequestLike,
  res: TrackedResponseLike,
  settle: () => void,
): void {
  if (res.socket !== null || res.writableFinished === true) return;
  const socket = req.socket as QueueSocket | null | undefined;
  if (socket === null || socket === undefined) return;
  if (socket.destroyed === true) {
    settle();
    return;
  }
  if (typeof socket.once !== 'function') return;
  const dropped = () => {
    if (res.socket === null) settle();
  };
  socket.once('close', dropped);
  res.on('close', () => socket.off?.('close', dropped));
}

/**
 * The status of a response the server side cut short: the one Node's server answered itself when
 * it gave up on the request before the app sent headers (`408` for its request timeout, `400`
 * for a malformed body…), else {@link SERVER_ERROR_STATUS}.
 */
function serverErrorStatus(req: TrackedRequestLike, res: TrackedResponseLike): number {
  // Node answers for the response that holds the connection; one queued behind it (no socket)
  // is `cancelled` before this is asked (see `finish`).
  const refused = res.headersSent === true ? undefined : nodeRefusalStatus(req.socket);
  return refused ?? SERVER_ERROR_STATUS;
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/**
 * A `content-length` header value as a byte count, `undefined` unless a valid one.
 *
 * @example
 * ```ts
 * contentLength('512'); // 512
 * contentLength('-1'); // undefined
 * ```
 */
export function contentLength(value: unknown): number | undefined {
  if (typeof value === 'number')
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || value === '') return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The request path without its query string, for `exclude` rules.
 *
 * @example
 * ```ts
 * pathWithoutQuery('/search?q=shoes'); // '/search'
 * ```
 */
export function pathWithoutQuery(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
