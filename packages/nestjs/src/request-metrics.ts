/**
 * Records every HTTP request a Nest app serves through core's `IpcServerRecorder`.
 *
 * Where it hooks, and why: timing starts in the HTTP adapter's request hook
 * (`setOnRequestHook`, Nest's hook "for instrumentation"), which runs before anything else Nest
 * or the platform does with a request: first Express middleware (ahead of body parsers, CORS and
 * Nest middleware), first Fastify `onRequest` hook (ahead of middie). The record is taken when
 * Node's response emits `finish` (or `close` first: cancelled), so whatever produced the response
 * (a handler, a guard, a pipe, an exception filter, the 404 handler, a body-parser error, a
 * middleware) the status recorded is the one the client got, exactly once.
 *
 * The route template is the platform's own, read when the response is done: Express's
 * `req.route.path` and Fastify's `request.routeOptions.url`. Nest registers routes with the
 * global prefix, URI version and `RouterModule` path already applied, so both read
 * `/api/v1/users/:id`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AbstractHttpAdapter, type HttpAdapterHost } from '@nestjs/core';
import type { Registry } from '@spectator/core';
import { compileExclude, IpcServerRecorder, type RequestOutcome } from '@spectator/core/ipc';
import type { SpectatorModuleOptions } from './options.js';
import { holdDecoratorRegistry, releaseDecoratorRegistry } from './registry-holder.js';

/**
 * `owner` tag of the request meters this package records.
 * @example `atlas.find('ipc.server.call', { owner: NESTJS_OWNER })`
 */
export const NESTJS_OWNER = 'spectator-nestjs';

/** Set on an adapter once it records, so a second module instance does not record twice. */
const INSTALLED = Symbol.for('@spectator/nestjs.installed');
/** Set on an Express request that reached the end of the routes without a match. */
const UNMATCHED = Symbol.for('@spectator/nestjs.unmatched');
/** Fallback path only: the Fastify request of a raw request. */
const FASTIFY_REQUEST = Symbol.for('@spectator/nestjs.fastify-request');

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

interface FastifyRequestLike {
  raw: IncomingMessage & { [FASTIFY_REQUEST]?: FastifyRequestLike };
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

function contentLength(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || value === '') return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * The module's provider that installs request recording on the app's HTTP adapter (at
 * `onModuleInit`: after Nest registered the routes, before its 404 handler and before
 * `listen`), and makes the module's registry the one `@Timed`/`@Counted` record into.
 */
export class SpectatorRequestMetrics implements OnModuleInit, OnModuleDestroy {
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
    private readonly registry: Registry,
    private readonly adapterHost: HttpAdapterHost | undefined,
  ) {
    holdDecoratorRegistry(registry);
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

  onModuleDestroy(): void {
    releaseDecoratorRegistry(this.registry);
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
    if (hasRequestHook(adapter)) {
      chainRequestHook(adapter, (req, res) =>
        this.track(req as IncomingMessage, res as ServerResponse, req),
      );
    } else {
      this.trackServer(adapter, (req) => req);
    }
  }

  private installFastify(adapter: HttpAdapterLike): void {
    this.routeOf = (request) => fastifyRoute(request as FastifyRequestLike | undefined);
    if (hasRequestHook(adapter)) {
      chainRequestHook(adapter, (request, reply) => {
        const r = request as FastifyRequestLike;
        this.track(r.raw, (reply as FastifyReplyLike).raw, r, undefined, reply as FastifyReplyLike);
      });
      return;
    }
    // Older adapters: time from the server's `request` event, learn the route from a hook.
    try {
      (adapter.getInstance?.() as FastifyInstanceLike).addHook(
        'onRequest',
        (request, _reply, done) => {
          request.raw[FASTIFY_REQUEST] = request;
          done();
        },
      );
    } catch (error) {
      this.logger.warn(
        `could not add a Fastify hook; ipc.endpoint will read "unknown": ${String(error)}`,
      );
    }
    this.trackServer(adapter, (req) => (req as FastifyRequestLike['raw'])[FASTIFY_REQUEST]);
  }

  /** Fallback for adapters without a request hook: the HTTP server's `request` event, first. */
  private trackServer(
    adapter: HttpAdapterLike,
    frameworkReq: (req: IncomingMessage) => unknown,
  ): void {
    const server = adapter.getHttpServer?.() as ServerLike | undefined;
    if (server === undefined || typeof server.prependListener !== 'function') {
      this.logger.warn(
        'no request hook and no HTTP server to listen on; requests are not recorded',
      );
      return;
    }
    server.prependListener('request', (req, res) => this.track(req, res, undefined, frameworkReq));
  }

  /**
   * Starts timing one request and records it once, when its response is done. Never throws: it
   * runs inside the adapter's request hook, and the record inside the response's event emission.
   */
  private track(
    req: IncomingMessage,
    res: ServerResponse,
    frameworkReq: unknown,
    lateFrameworkReq?: (req: IncomingMessage) => unknown,
    reply?: FastifyReplyLike,
  ): void {
    const recorder = this.recorder;
    if (recorder === undefined) return;
    try {
      if (this.exclude !== undefined && this.exclude(pathOf(req.url), req)) return;
      // `start` stays undefined until both listeners are attached and `begin` ran, so a response
      // we could not listen to is neither recorded nor left counted as in flight.
      let start: number | undefined;
      const done = (cancelled: boolean): void => {
        if (start === undefined) return;
        const began = start;
        start = undefined;
        res.off('finish', onFinish);
        res.off('close', onClose);
        let framework = frameworkReq;
        if (lateFrameworkReq !== undefined) {
          try {
            framework = lateFrameworkReq(req);
          } catch {
            framework = undefined;
          }
        }
        this.end(recorder, began, req, res, framework, cancelled, reply);
      };
      const onFinish = (): void => done(false);
      // `close` without `finish`: the client went away before the response was complete.
      const onClose = (): void => done(!res.writableFinished);
      res.once('finish', onFinish);
      res.once('close', onClose);
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
    cancelled: boolean,
    reply: FastifyReplyLike | undefined,
  ): void {
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
        status: res.statusCode,
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
        // Fastify passes its headers to writeHead(), where getHeader() cannot see them.
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
