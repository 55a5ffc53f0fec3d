/**
 * Records every HTTP request a Nest app serves through core's `ServerRequestTracker`, the
 * request lifecycle the Express and Koa adapters use too: this file only installs the hooks.
 *
 * Where it hooks, and why. On both platforms timing starts at the HTTP server's `request` event
 * (our listener prepended), ahead of anything the platform runs. Express: Nest's request hook
 * (`setOnRequestHook`, its hook "for instrumentation") is installed with `use()`, after whatever
 * an Express instance handed to `new ExpressAdapter(server)` already had, so only requests that
 * reach the app through another server (serverless, a server of the app's own) are timed from
 * that hook. Fastify answers some requests before any hook runs (a malformed URL's 400, a
 * too-long one's 414, 503 while closing); its first `onRequest` hook only tells which Fastify
 * request (and so route) it became, and times requests that never pass through the server
 * (`inject()`). The tracker records when Node's response emits `close` (after it finished, or
 * alone when cut short: `cancelled` when the client went away, a 500 when the server cut it), so
 * whatever produced the response (a handler, a guard, a pipe, an exception filter, the 404
 * handler, a body-parser error, a middleware, the platform itself) the status recorded is the one
 * the client got, exactly once.
 *
 * The route template is the platform's own, read when the response is done. Express: core's
 * `expressRouteTemplate`, the one `@spectator/express` reads, which joins `req.route.path` to the
 * mount paths of the routers and sub-apps the route sits under (an Express router mounted on the
 * Nest app's Express instance, `app.use('/legacy', router)`, gives `/legacy/users/:id`). Fastify:
 * `request.routeOptions.url`. Nest registers its own routes with the global prefix, URI version
 * and `RouterModule` path already applied, so both read `/api/v1/users/:id`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger, type OnModuleInit } from '@nestjs/common';
import { AbstractHttpAdapter, type HttpAdapterHost } from '@nestjs/core';
import type { Registry } from '@spectator/core';
import {
  compileExclude,
  expressRouteTemplate,
  fastifyRouting,
  pathWithoutQuery,
  primeExpressRoutes,
  ServerRequestTracker,
  type FastifyConfigLike,
  type PathMatching,
  type ServerRequestReader,
  type ServerTrackingOptions,
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

/**
 * The request the tracker follows: Node's (on Express, the Express request, which extends it),
 * with what our hooks left on it. The platform's own parts, read when the response is done, hang
 * off it: so the one request lifecycle of core's `ServerRequestTracker` serves both platforms.
 */
type RawRequest = IncomingMessage & {
  route?: { path?: unknown };
  app?: unknown;
  [UNMATCHED]?: boolean;
  [FASTIFY_REQUEST]?: FastifyRequestLike;
  [FASTIFY_REPLY]?: FastifyReplyLike;
  [TRACKED]?: boolean;
};

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

interface ServerLike {
  prependListener(
    event: 'request',
    listener: (req: IncomingMessage, res: ServerResponse) => void,
  ): unknown;
}

/**
 * The route Express dispatched to, with the mount paths above it: the template
 * `@spectator/express` gives the same route.
 */
function expressRoute(req: RawRequest): string | undefined {
  if (req[UNMATCHED] === true) return undefined;
  return expressRouteTemplate(req);
}

/**
 * Indexes the routes of the Express app a request reached, before the app routes it (so Express
 * 5.0/5.1's router 2.0–2.2 layers are read while they still hold the paths they were given, as
 * `@spectator/express` does from its middleware). Before Express's own init, `req.app` is not
 * set yet: then the adapter's instance.
 */
function primeExpress(req: RawRequest, instance: unknown): void {
  try {
    primeExpressRoutes(req.app ?? instance);
  } catch {
    // Unreadable app: routes are named when first seen instead.
  }
}

function fastifyRoute(req: RawRequest): string | undefined {
  const request = req[FASTIFY_REQUEST];
  if (request === undefined || request.is404 === true) return undefined;
  // routeOptions: Fastify ≥ 4.10 (and 5); routerPath before that (deprecated later, so read last).
  const options = request.routeOptions;
  return options !== undefined ? options.url : request.routerPath;
}

/**
 * The module's provider that installs request recording on the app's HTTP adapter (at
 * `onModuleInit`: after Nest registered the routes, before its 404 handler and before
 * `listen`). Only the hooks are Nest's: each request is followed by core's
 * `ServerRequestTracker`, as in the Express and Koa adapters.
 */
export class SpectatorRequestMetrics implements OnModuleInit {
  private readonly logger = new Logger('SpectatorModule');
  private readonly tracker: ServerRequestTracker<RawRequest> | undefined;
  /** How the installed platform names the route of a request. */
  private routeOf: (req: RawRequest) => string | undefined = () => undefined;
  /** How the installed platform routes paths, for `exclude` (Express's defaults until then). */
  private routing: Required<PathMatching<RawRequest>> = { caseSensitive: false, strict: false };
  /** The path the installed platform routes for a URL as received, for `exclude`. */
  private pathOf: (url: string | undefined) => string = pathWithoutQuery;

  constructor(
    options: SpectatorModuleOptions,
    registry: Registry,
    private readonly adapterHost: HttpAdapterHost | undefined,
  ) {
    if (options.requestMetrics === false) return;
    const reader: ServerRequestReader<RawRequest> = {
      request: (req) => req,
      path: (req) => this.pathOf(req.url),
      routeTemplate: (req) => this.routeOf(req),
      // Fastify passes its headers to writeHead(), where getHeader() cannot see them.
      responseHeader: (req, res, name) =>
        req[FASTIFY_REPLY]?.getHeader?.(name) ?? res.getHeader(name),
    };
    this.tracker = new ServerRequestTracker<RawRequest>(
      NESTJS_OWNER,
      {
        ...options,
        registry,
        // Matched as the platform routes paths (its settings are known once it is installed).
        exclude: compileExclude(options.exclude, {
          caseSensitive: (req) => read(this.routing.caseSensitive, req),
          strict: (req) => read(this.routing.strict, req),
        }),
        // Nest's callbacks get Node's response, which is what the tracker hands them.
        endpointTag: options.endpointTag as ServerTrackingOptions<RawRequest>['endpointTag'],
        extraTags: options.extraTags as ServerTrackingOptions<RawRequest>['extraTags'],
      },
      reader,
    );
  }

  onModuleInit(): void {
    const adapter = this.adapterHost?.httpAdapter as HttpAdapterLike | undefined;
    // No HTTP adapter: a standalone application context or a pure microservice.
    if (this.tracker === undefined || adapter === undefined || adapter === null) return;
    if (adapter[INSTALLED] === true) return;
    const type = typeof adapter.getType === 'function' ? adapter.getType() : undefined;
    if (type === 'express') this.installExpress(adapter, this.tracker);
    else if (type === 'fastify') this.installFastify(adapter, this.tracker);
    else {
      this.logger.warn(
        `HTTP platform "${String(type)}" is not supported; requests are not recorded (Express and Fastify are)`,
      );
      return;
    }
    adapter[INSTALLED] = true;
  }

  private installExpress(
    adapter: HttpAdapterLike,
    tracker: ServerRequestTracker<RawRequest>,
  ): void {
    this.routeOf = expressRoute;
    // The settings of the Express app routing the request (its own, when no hook set req.app).
    const instance = adapter.getInstance?.();
    this.routing = {
      caseSensitive: (req) => appEnabled(req.app ?? instance, 'case sensitive routing'),
      strict: (req) => appEnabled(req.app ?? instance, 'strict routing'),
    };
    // Runs only for requests no route took: Nest adds its 404 handler right after the init hooks.
    adapter.use?.((req: RawRequest, _res: unknown, next: () => void) => {
      req[UNMATCHED] = true;
      next();
    });
    // The server's `request` event first: Nest installs its request hook with `use()`, after
    // whatever an Express instance given to `new ExpressAdapter(server)` already had (regression:
    // its routes and middlewares answered requests that were never recorded). The hook times
    // the requests that reach the app through another server (serverless, a server of the
    // app's own).
    const listening = trackServer(adapter, tracker, (req) => primeExpress(req, instance));
    if (hasRequestHook(adapter)) {
      chainRequestHook(adapter, (req, res) => {
        const raw = req as RawRequest;
        if (raw[TRACKED] === true) return;
        primeExpress(raw, instance);
        tracker.track(raw, res as ServerResponse);
      });
    } else if (!listening) {
      this.logger.warn(
        'no request hook and no HTTP server to listen on; requests are not recorded',
      );
    }
  }

  private installFastify(
    adapter: HttpAdapterLike,
    tracker: ServerRequestTracker<RawRequest>,
  ): void {
    this.routeOf = fastifyRoute;
    // As @spectator/fastify reads them: case, trailing slash, `;`, duplicate slashes.
    const config = (adapter.getInstance?.() as { initialConfig?: FastifyConfigLike } | undefined)
      ?.initialConfig;
    const routing = fastifyRouting(config);
    this.routing = routing.matching;
    this.pathOf = (url) => routing.path(url);
    trackServer(adapter, tracker);
    const onRequest = (request: FastifyRequestLike, reply: FastifyReplyLike): void => {
      let raw: RawRequest;
      try {
        raw = request.raw;
        raw[FASTIFY_REQUEST] = request;
        raw[FASTIFY_REPLY] = reply;
      } catch {
        return; // a frozen request: recorded by the server's listener, without its route
      }
      // Not seen by the server (`inject()`, or no server to listen on): timed from here.
      if (raw[TRACKED] !== true) tracker.track(raw, reply.raw);
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
}

/**
 * Follows every request from the HTTP server's `request` event, ahead of the platform's own
 * listener: on Fastify, the only place that sees the requests Fastify answers before any hook
 * (a malformed URL's 400, a too-long one's 414, 503 while closing). `before` runs first for
 * each request (on Express, indexing the app's routes). False when there is no server to listen
 * on.
 */
function trackServer(
  adapter: HttpAdapterLike,
  tracker: ServerRequestTracker<RawRequest>,
  before?: (req: RawRequest) => void,
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
    before?.(req);
    tracker.track(req, res);
  });
  return true;
}

function read(setting: boolean | ((req: RawRequest) => boolean), req: RawRequest): boolean {
  return typeof setting === 'boolean' ? setting : setting(req);
}

function appEnabled(app: unknown, setting: string): boolean {
  const enabled = (app as { enabled?: unknown } | null | undefined)?.enabled;
  return (
    typeof enabled === 'function' &&
    (enabled as (name: string) => unknown).call(app, setting) === true
  );
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
