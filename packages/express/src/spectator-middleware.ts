import {
  ServerRequestTracker,
  compileExclude,
  expressRouteTemplate,
  pathWithoutQuery,
  primeExpressRoutes,
  type PathMatching,
  type ServerRequestReader,
  type ServerTrackingOptions,
} from '@spectator/core/ipc';
import type {
  ExpressRequestLike,
  ExpressResponseLike,
  NextFunctionLike,
  SpectatorMiddlewareOptions,
} from './types.js';

/** `owner` tag of every meter this package records. */
export const OWNER = 'spectator-express';

/**
 * Express middleware recording Netflix's common IPC server metrics for every request:
 * `ipc.server.call` (percentile timer, or plain timer) and `ipc.server.inflight`, tagged with
 * `owner=spectator-express`, `ipc.result`, `ipc.status`, `ipc.endpoint` (the route template,
 * `unknown` when no route matched), `http.method` (`get`, `post`, `put`, `patch`, `delete`,
 * `options`, else `unknown`), `http.status`, `ipc.protocol`, and from the caller's Netflix
 * headers `ipc.client.asg` / `.app` / `.cluster` and `ipc.vip` (see `netflixHeaders`).
 *
 * `app.use` it before the routes. Each request is recorded exactly once, when its response
 * closes (Node emits `close` on every response, after it finished or alone when it was cut
 * short): with the status Express's or your error handler set for a thrown or `next(err)` error,
 * after a streamed body has ended; `ipc.status=cancelled` when the client went away; and
 * `http.status=500` when the server cut the response short (an error after the headers were
 * sent, a destroyed socket). The middleware never changes the response, never handles errors,
 * and never throws.
 *
 * @param options - see {@link SpectatorMiddlewareOptions}; all optional.
 * @returns a `(req, res, next)` middleware for Express 4 or 5.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { spectatorMiddleware } from '@spectator/express';
 *
 * const app = express();
 * app.use(spectatorMiddleware({ exclude: '/health' }));
 * app.get('/users/:id', (req, res) => { res.json({ id: req.params.id }); });
 * // → ipc.server.call{ipc.endpoint=/users/:id, http.method=get, http.status=200, …}
 * ```
 */
export function spectatorMiddleware<
  Req extends ExpressRequestLike = ExpressRequestLike,
  Res extends ExpressResponseLike = ExpressResponseLike,
>(
  options: SpectatorMiddlewareOptions<Req, Res> = {},
): (req: Req, res: Res, next: NextFunctionLike) => void {
  // The tracker's context is the request; it hands the callbacks the response as well.
  const tracker = new ServerRequestTracker<Req>(
    OWNER,
    {
      ...options,
      exclude: compileExclude<Req>(options.exclude, pathMatching),
      endpointTag: options.endpointTag as ServerTrackingOptions<Req>['endpointTag'],
      extraTags: options.extraTags as ServerTrackingOptions<Req>['extraTags'],
    },
    reader,
  );

  return function spectatorExpressMiddleware(req: Req, res: Res, next: NextFunctionLike): void {
    try {
      primeExpressRoutes(req.app);
    } catch {
      // Unreadable app: routes are named when first seen instead.
    }
    tracker.track(req, res);
    next();
  };
}

/**
 * Exclude paths are matched as Express routes them, by the settings of the app handling the
 * request: `case sensitive routing` and `strict routing` (both off by default).
 */
const pathMatching: PathMatching<ExpressRequestLike> = {
  caseSensitive: (req) => appEnabled(req.app, 'case sensitive routing'),
  strict: (req) => appEnabled(req.app, 'strict routing'),
};

function appEnabled(app: unknown, setting: string): boolean {
  const enabled = (app as { enabled?: unknown } | null | undefined)?.enabled;
  return (
    typeof enabled === 'function' &&
    (enabled as (name: string) => unknown).call(app, setting) === true
  );
}

/**
 * How the tracker reads an Express request. The route template, with the mount paths of the
 * routers it sits under, is core's `expressRouteTemplate` (shared with `@spectator/nestjs`).
 */
const reader: ServerRequestReader<ExpressRequestLike> = {
  request: (req) => req,
  path: (req) => pathWithoutQuery(req.originalUrl ?? req.url),
  routeTemplate: expressRouteTemplate,
};
