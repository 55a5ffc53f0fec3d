import {
  ServerRequestTracker,
  compileExclude,
  pathWithoutQuery,
  type ServerRequestReader,
  type ServerTrackingOptions,
} from '@spectator/core/ipc';
import { primeRoutes, routeTemplate } from './route-template.js';
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
 * `unknown` when no route matched), `http.method`, `http.status` and `ipc.protocol`.
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
 * // → ipc.server.call{ipc.endpoint=/users/:id, http.method=GET, http.status=200, …}
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
      exclude: compileExclude<Req>(options.exclude),
      endpointTag: options.endpointTag as ServerTrackingOptions<Req>['endpointTag'],
      extraTags: options.extraTags as ServerTrackingOptions<Req>['extraTags'],
    },
    reader,
  );

  return function spectatorExpressMiddleware(req: Req, res: Res, next: NextFunctionLike): void {
    try {
      primeRoutes(req.app);
    } catch {
      // Unreadable app: routes are named when first seen instead.
    }
    tracker.track(req, res);
    next();
  };
}

/** How the tracker reads an Express request. */
const reader: ServerRequestReader<ExpressRequestLike> = {
  request: (req) => req,
  path: (req) => pathWithoutQuery(req.originalUrl ?? req.url),
  routeTemplate,
};
