/**
 * Records every HTTP request a Nest app serves through core's `IpcServerRecorder`.
 *
 * Where it hooks, and why. Express: timing starts in the HTTP adapter's request hook
 * (`setOnRequestHook`, Nest's hook "for instrumentation"), the first Express middleware (ahead
 * of body parsers, CORS and Nest middleware). Fastify: timing starts at the HTTP server's
 * `request` event (our listener prepended), because Fastify answers some requests before any
 * hook runs (a malformed URL's 400, a too-long one's 414, 503 while closing); the first
 * `onRequest` hook only tells which Fastify request (and so route) it became. Requests that never
 * pass through the server (`inject()`) are timed from that hook. Adapters without a request hook
 * (Nest 10, custom ones) are timed from the server's `request` event on both platforms. The
 * record is taken when Node's response emits `close` (after it finished, or alone when cut short:
 * `cancelled` when the client went away, a 500 when the server cut it), so whatever produced the
 * response (a handler, a guard, a pipe, an exception filter, the 404 handler, a
 * body-parser error, a middleware, the platform itself) the status recorded is the one the
 * client got, exactly once.
 *
 * The route template is the platform's own, read when the response is done: Express's
 * `req.route.path` and Fastify's `request.routeOptions.url`. Nest registers routes with the
 * global prefix, URI version and `RouterModule` path already applied, so both read
 * `/api/v1/users/:id`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger, type OnModuleInit } from '@nestjs/common';
import { AbstractHttpAdapter, type HttpAdapterHost } from '@nestjs/core';
import type { Registry } from '@spectator/core';
import {
  compileExclude,
  contentLength,
  IpcServerRecorder,
  pathWithoutQuery,
  responseEnding,
  SERVER_ERROR_STATUS,
  type RequestOutcome,
  type ResponseEnding,
} from '@spectator/core/ipc';
import type { SpectatorModuleOptions } from './options.js';

/**
 * `owner` tag of the request meters this package records.
 * @example `atlas.find('ipc.server.call', { owner: NESTJS_OWNER })`
 */
export const NESTJS_OWNER = 'spectator-nestjs';

/** Set on an adapter once it records, so a second module instance does not record twice. */
const INSTALLED = Symbol.for('@spectator/nestjs.installed');
/** Set on an Express request that reached the end of the routes without a match. */
const UNMATCHED = Symbol.for('@spectator/nestjs.unmatched');
/** The Fastify request and reply of a raw request, set by our `onRequest` hook. */
const FASTIFY_REQUEST = Symbol.for('@spectator/nestjs.fastify-request');
const FASTIFY_REPLY = Symbol.for('@spectator/nestjs.fastify-reply');
/** Set on a raw request timed from the server's `request` event. */
const TRACKED = Symbol.for('@spectator/nestjs.tracked');

type Hook = (req: unknown, res: unknown, done: (err?: unknown) => void) => unknown;

/** What this file reads from Nest's HTTP adapters (Express and Fastify), structurally. */
interface HttpAdapterLike {
  getType?(): string;
  getInstance?(): unknown;
  getHttpServer?(): unknown;
  setOnRequestHook?(hook: Hook): void;
  /** Where the built-in adapters keep the hook; read to chain a hook set before ours. */
  onRequestHook?: Hook;
  use?(...args: unknown[]): unknown;
  [INSTALLED]?: boolean;
}

interface ExpressRequestLike extends IncomingMessage {
  route?: { path?: unknown };
  [UNMATCHED]?: boolean;
}

/** A raw request with what our listener and hook left on it. */
type RawRequest = IncomingMessage & {
  [FASTIFY_REQUEST]?: FastifyRequestLike;
  [FASTIFY_REPLY]?: FastifyReplyLike;
  [TRACKED]?: boolean;
};

/** The platform's request (read for the route) and, on Fastify, its reply; known at the end. */
interface FrameworkParts {
  request: unknown;
  reply?: FastifyReplyLike;
}

interface FastifyRequestLike {
  raw: RawRequest;
  is404?: boolean;
  routeOptions?: { url?: string };
  routerPath?: string;
}

interface FastifyReplyLike {
  raw: ServerResponse;
  getHeader?(name: string): unknown;
}

interface FastifyInstanceLike {
  addHook(
    name: 'onRequest',
    hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => void,
  ): unknown;
}

/** The Fastify parts our hook left on a raw request (none: Fastify answered before any hook). */
function fastifyParts(req: RawRequest): FrameworkParts {
  return { request: req[FASTIFY_REQUEST], reply: req[FASTIFY_REPLY] };
}

interface ServerLike {
  prependListener(
    event: 'request',
    listener: (req: IncomingMessage, res: ServerResponse) => void,
  ): unknown;
}

function expressRoute(req: ExpressRequestLike): string | undefined {
  if (req[UNMATCHED] === true) return undefined;
  const path = req.route?.path;
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return String(path);
  if (Array.isArray(path)) return path.map(String).join(',');
  return undefined;
}

function fastifyRoute(request: FastifyRequestLike | undefined): string | undefined {
  if (request === undefined || request.is404 === true) return undefined;
  // routeOptions: Fastify ≥ 4.10 (and 5); routerPath before that (deprecated later, so read last).
  const options = request.routeOptions;
  return options !== undefined ? options.url : request.routerPath;
}

/**
 * The module's provider that installs request recording on the app's HTTP adapter (at
 * `onModuleInit`: after Nest registered the routes, before its 404 handler and before
 * `listen`).
 */
export class SpectatorRequestMetrics implements OnModuleInit {
  private readonly logger = new Logger('SpectatorModule');
  private readonly recorder: IpcServerRecorder | undefined;
  private readonly exclude: ((path: string, req: IncomingMessage) => boolean) | undefined;
  private readonly endpointTag: SpectatorModuleOptions['endpointTag'];
  private readonly extraTags: SpectatorModuleOptions['extraTags'];
  private readonly bodySizes: boolean;
  private routeOf: (frameworkReq: unknown) => string | undefined = () => undefined;
  /** Per-request problems already reported: each kind is logged once, not once per request. */
  private readonly warned = new Set<string>();

  constructor(
    options: SpectatorModuleOptions,
    registry: Registry,
    private readonly adapterHost: HttpAdapterHost | undefined,
  ) {
    this.recorder =
      options.requestMetrics === false
        ? undefined
        : new IpcServerRecorder(NESTJS_OWNER, { ...options, registry });
    this.exclude = compileExclude(options.exclude);
    this.endpointTag = options.endpointTag;
    this.extraTags = options.extraTags;
    this.bodySizes = options.bodySizes ?? false;
  }

  onModuleInit(): void {
    const adapter = this.adapterHost?.httpAdapter as HttpAdapterLike | undefined;
    // No HTTP adapter: a standalone application context or a pure microservice.
    if (this.recorder === undefined || adapter === undefined || adapter === null) return;
    if (adapter[INSTALLED] === true) return;
    const type = typeof adapter.getType === 'function' ? adapter.getType() : undefined;
    if (type === 'express') this.installExpress(adapter);
    else if (type === 'fastify') this.installFastify(adapter);
    else {
      this.logger.warn(
        `HTTP platform "${String(type)}" is not supported; requests are not recorded (Express and Fastify are)`,
      );
      return;
    }
    adapter[INSTALLED] = true;
  }

  private warnOnce(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.logger.warn(`${message} (further occurrences are not logged)`);
  }

  private installExpress(adapter: HttpAdapterLike): void {
    this.routeOf = (req) => expressRoute(req as ExpressRequestLike);
    // Runs only for requests no route took: Nest adds its 404 handler right after the init hooks.
    adapter.use?.((req: ExpressRequestLike, _res: unknown, next: () => void) => {
      req[UNMATCHED] = true;
      next();
    });
    const parts = (req: IncomingMessage): FrameworkParts => ({ request: req });
    if (hasRequestHook(adapter)) {
      chainRequestHook(adapter, (req, res) =>
        this.track(req as IncomingMessage, res as ServerResponse, parts),
      );
    } else if (!this.trackServer(adapter, parts)) {
      this.logger.warn(
        'no request hook and no HTTP server to listen on; requests are not recorded',
      );
    }
  }

  private installFastify(adapter: HttpAdapterLike): void {
    this.routeOf = (request) => fastifyRoute(request as FastifyRequestLike | undefined);
    this.trackServer(adapter, fastifyParts);
    const onRequest = (request: FastifyRequestLike, reply: FastifyReplyLike): void => {
      try {
        const raw = request.raw;
        raw[FASTIFY_REQUEST] = request;
        raw[FASTIFY_REPLY] = reply;
        // Not seen by the server (`inject()`, or no server to listen on): timed from here.
        if (raw[TRACKED] !== true) this.track(raw, reply.raw, () => ({ request, reply }));
      } catch (error) {
        this.warnOnce('track', `could not time a request: ${String(error)}`);
      }
    };
    if (hasRequestHook(adapter)) {
      chainRequestHook(adapter, (request, reply) =>
        onRequest(request as FastifyRequestLike, reply as FastifyReplyLike),
      );
      return;
    }
    try {
      (adapter.getInstance?.() as FastifyInstanceLike).addHook(
        'onRequest',
        (request, reply, done) => {
          onRequest(request, reply);
          done();
        },
      );
    } catch (error) {
      this.logger.warn(
        `could not add a Fastify hook; ipc.endpoint will read "unknown": ${String(error)}`,
      );
    }
  }

  /**
   * Times every request from the HTTP server's `request` event, ahead of the platform's own
   * listener. False when there is no server to listen on.
   */
  private trackServer(
    adapter: HttpAdapterLike,
    parts: (req: RawRequest) => FrameworkParts,
  ): boolean {
    const server = adapter.getHttpServer?.() as ServerLike | undefined;
    if (server === undefined || server === null || typeof server.prependListener !== 'function') {
      return false;
    }
    server.prependListener('request', (req: RawRequest, res) => {
      try {
        req[TRACKED] = true;
      } catch {
        // A frozen request object: the hook times it instead.
      }
      this.track(req, res, parts);
    });
    return true;
  }

  /**
   * Starts timing one request and records it once, when its response is done; `parts` is read
   * then. Never throws: it runs inside the server's event emission or the adapter's request
   * hook, and the record inside the response's.
   */
  private track(
    req: IncomingMessage,
    res: ServerResponse,
    parts: (req: RawRequest) => FrameworkParts,
  ): void {
    const recorder = this.recorder;
    if (recorder === undefined) return;
    try {
      if (this.exclude !== undefined && this.exclude(pathWithoutQuery(req.url), req)) return;
      // `start` stays undefined until the listener is attached and `begin` ran, so a response we
      // could not listen to is neither recorded nor left counted as in flight.
      let start: number | undefined;
      // Node emits `close` on every response, after it finished or alone when it was cut short;
      // core's `responseEnding` tells then who cut it (HTTP/2 emits `finish` even for a stream
      // the client reset, so `finish` cannot be the signal).
      res.once('close', () => {
        if (start === undefined) return;
        const began = start;
        start = undefined;
        let framework: FrameworkParts;
        try {
          framework = parts(req);
        } catch {
          framework = { request: undefined };
        }
        let ending: ResponseEnding = 'cancelled';
        try {
          ending = responseEnding(res, req.socket);
        } catch {
          // Unreadable response state: taken as cut short by the client.
        }
        this.end(recorder, began, req, res, framework.request, ending, framework.reply);
      });
      start = recorder.begin();
    } catch (error) {
      this.warnOnce('track', `could not time a request: ${String(error)}`);
    }
  }

  /** Records one finished request. Always reaches `recorder.end` (inflight stays right). */
  private end(
    recorder: IpcServerRecorder,
    start: number,
    req: IncomingMessage,
    res: ServerResponse,
    frameworkReq: unknown,
    ending: ResponseEnding,
    reply: FastifyReplyLike | undefined,
  ): void {
    const cancelled = ending === 'cancelled';
    let endpoint: string | undefined;
    try {
      endpoint = this.routeOf(frameworkReq);
    } catch {
      endpoint = undefined;
    }
    if (this.endpointTag !== undefined) {
      try {
        const custom = this.endpointTag(req, res, endpoint);
        if (typeof custom === 'string' && custom !== '') endpoint = custom;
      } catch (error) {
        this.warnOnce(
          'endpointTag',
          `endpointTag threw; recorded with the route template: ${String(error)}`,
        );
      }
    }
    let outcome: RequestOutcome;
    try {
      outcome = {
        method: req.method ?? 'UNKNOWN',
        status: ending === 'server-error' ? SERVER_ERROR_STATUS : res.statusCode,
        endpoint,
        httpVersionMajor: req.httpVersionMajor ?? 1,
        cancelled,
      };
    } catch {
      // Unreadable request/response fields: still end the request so inflight stays right.
      outcome = { method: 'UNKNOWN', status: 0, endpoint, httpVersionMajor: 1, cancelled };
    }
    if (this.bodySizes) {
      try {
        outcome.inboundBytes = contentLength(req.headers['content-length']);
        // A HEAD, 204 or 304 response announces a length it does not send; a cut-short one did
        // not send it all.
        const sentBody =
          ending === 'finished' &&
          outcome.method !== 'HEAD' &&
          outcome.status !== 204 &&
          outcome.status !== 304;
        // Fastify passes its headers to writeHead(), where getHeader() cannot see them.
        if (sentBody)
          outcome.outboundBytes = contentLength(
            reply?.getHeader?.('content-length') ?? res.getHeader('content-length'),
          );
      } catch {
        // Unreadable headers: sizes unknown.
      }
    }
    if (this.extraTags !== undefined) {
      try {
        const tags = this.extraTags(req, res);
        if (tags !== null && typeof tags === 'object') outcome.extraTags = tags;
      } catch (error) {
        this.warnOnce('extraTags', `extraTags threw; recorded without them: ${String(error)}`);
      }
    }
    recorder.end(start, outcome);
  }
}

/** The adapter implements `setOnRequestHook` (the base class's is a no-op). */
function hasRequestHook(adapter: HttpAdapterLike): boolean {
  return (
    typeof adapter.setOnRequestHook === 'function' &&
    adapter.setOnRequestHook !== (AbstractHttpAdapter.prototype as HttpAdapterLike).setOnRequestHook
  );
}

/**
 * Installs `ours` as the adapter's request hook, in front of a hook set before (kept) and of one
 * set later (wrapped as it is set), so that neither replaces the other.
 */
function chainRequestHook(
  adapter: HttpAdapterLike,
  ours: (req: unknown, res: unknown) => void,
): void {
  const setHook = adapter.setOnRequestHook!.bind(adapter);
  const wrap = (next: Hook | undefined): Hook =>
    function (this: unknown, req, res, done) {
      ours(req, res);
      return next === undefined ? done() : next.call(this, req, res, done);
    };
  setHook(wrap(typeof adapter.onRequestHook === 'function' ? adapter.onRequestHook : undefined));
  adapter.setOnRequestHook = (hook: Hook) => setHook(wrap(hook));
}
