import {
  ServerRequestTracker,
  compileExclude,
  pathWithoutQuery,
  type ServerRequestReader,
} from '@spectator/core/ipc';
import { routeTemplate } from './route-template.js';
import type { KoaContextLike, KoaNext, SpectatorMiddlewareOptions } from './types.js';

/**
 * `owner` tag of every meter this package records: `'spectator-koa'`.
 *
 * @example
 * ```ts
 * registry.measurements().filter((m) => m.tags.owner === OWNER); // this package's series
 * ```
 */
export const OWNER = 'spectator-koa';

/**
 * Koa middleware recording Netflix's common IPC server metrics for every request:
 * `ipc.server.call` (percentile timer, or plain timer) and `ipc.server.inflight`, tagged with
 * `owner=spectator-koa`, `ipc.result`, `ipc.status`, `ipc.endpoint` (the `@koa/router` route
 * template, `unknown` when no route matched), `http.method` (`get`, `post`, `put`, `patch`,
 * `delete`, `options`, else `unknown`), `http.status`, `ipc.protocol`, and from the caller's
 * Netflix headers `ipc.client.asg` / `.app` / `.cluster` and `ipc.vip` (see `netflixHeaders`).
 *
 * `app.use` it first. Each request is recorded exactly once, when its response closes (Node
 * emits `close` on every response, after it finished or alone when it was cut short): with the
 * status Koa's error handling (`ctx.onerror`) sent for a `ctx.throw` or uncaught error, after a
 * streamed body has ended; `ipc.status=cancelled` when the client went away; `http.status=500`
 * when the server cut the response short (a failed stream). It returns `next()` itself: errors
 * pass through untouched (same promise, no wrapping), the response is never changed, and it
 * never throws.
 *
 * @param options - see {@link SpectatorMiddlewareOptions}; all optional.
 * @returns a `(ctx, next)` middleware for Koa 2 or 3.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import Router from '@koa/router';
 * import { spectatorMiddleware } from '@spectator/koa';
 *
 * const app = new Koa();
 * app.use(spectatorMiddleware({ exclude: '/health' }));
 * const router = new Router();
 * router.get('/users/:id', (ctx) => { ctx.body = { id: ctx.params.id }; });
 * app.use(router.routes());
 * // → ipc.server.call{ipc.endpoint=/users/:id, http.method=get, http.status=200, …}
 * ```
 */
export function spectatorMiddleware<Ctx extends KoaContextLike = KoaContextLike>(
  options: SpectatorMiddlewareOptions<Ctx> = {},
): (ctx: Ctx, next: KoaNext) => Promise<unknown> {
  const { endpointTag } = options;
  const tracker = new ServerRequestTracker<Ctx>(
    OWNER,
    {
      ...options,
      // Matched as @koa/router routes by default: any case, trailing slash ignored.
      exclude: compileExclude<Ctx>(options.exclude, { caseSensitive: false }),
      // Koa's endpointTag takes the context and the template: the response is `ctx.res`.
      endpointTag:
        typeof endpointTag === 'function'
          ? (ctx, _res, route) => endpointTag(ctx, route)
          : endpointTag,
    },
    reader,
  );

  return function spectatorKoaMiddleware(ctx: Ctx, next: KoaNext): Promise<unknown> {
    try {
      tracker.track(ctx, ctx.res);
    } catch {
      // An unreadable `ctx.res`: the request goes on unrecorded.
    }
    return next();
  };
}

/** How the tracker reads a Koa context. */
const reader: ServerRequestReader<KoaContextLike> = {
  request: (ctx) => ctx.req,
  path: (ctx) => pathWithoutQuery(ctx.originalUrl ?? ctx.req.url),
  routeTemplate,
};
