import { IpcServerRecorder, compileExclude, type RequestOutcome } from '@spectator/core/ipc';
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
 * `http.status` recorded when the response was destroyed by a server-side error before it
 * finished (Koa 3 destroys it when a streamed body fails): what Koa answers for an error it
 * could still report.
 */
const SERVER_ABORT_STATUS = 500;

/**
 * Koa middleware recording Netflix's common IPC server metrics for every request:
 * `ipc.server.call` (percentile timer, or plain timer) and `ipc.server.inflight`, tagged with
 * `owner=spectator-koa`, `ipc.result`, `ipc.status`, `ipc.endpoint` (the `@koa/router` route
 * template, `unknown` when no route matched), `http.method`, `http.status` and `ipc.protocol`.
 *
 * `app.use` it first. Each request is recorded exactly once, when its final status is known: on
 * the response's `finish` — after Koa's error handling (`ctx.onerror`) has sent the status of a
 * `ctx.throw` or uncaught error, and after a streamed body has ended — or on `close` without
 * `finish`: `ipc.status=cancelled` when the client went away, `http.status=500` when the server
 * destroyed the response (a failed stream). It returns `next()` itself: errors pass through
 * untouched (same promise, no wrapping), the response is never changed, and it never throws.
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
 * // → ipc.server.call{ipc.endpoint=/users/:id, http.method=GET, http.status=200, …}
 * ```
 */
export function spectatorMiddleware<Ctx extends KoaContextLike = KoaContextLike>(
  options: SpectatorMiddlewareOptions<Ctx> = {},
): (ctx: Ctx, next: KoaNext) => Promise<unknown> {
  const recorder = new IpcServerRecorder(OWNER, options);
  const exclude = compileExclude(options.exclude);
  const { endpointTag, extraTags } = options;
  const bodySizes = options.bodySizes === true;
  /**
   * One outcome object per middleware, filled right before each `recorder.end` (which reads it
   * and keeps nothing): no allocation per request. Only plain values are written into it, after
   * every user callback of the request has run, so nothing can reenter between fill and read.
   */
  const outcome: RequestOutcome = {
    method: 'UNKNOWN',
    status: 0,
    endpoint: undefined,
    httpVersionMajor: 1,
    cancelled: false,
    inboundBytes: undefined,
    outboundBytes: undefined,
    extraTags: undefined,
  };

  /**
   * Called exactly once per recorded request; reaches `recorder.end` whatever the callbacks do,
   * and never throws (it runs inside the response's event emission).
   */
  function record(ctx: Ctx, start: number, finished: boolean): void {
    let endpoint: string | undefined;
    if (endpointTag !== undefined) {
      try {
        const tag = endpointTag(ctx);
        if (typeof tag === 'string' && tag !== '') endpoint = tag;
      } catch {
        // A throwing override falls back to the route template.
      }
    }
    let method = 'UNKNOWN';
    let status = 0;
    let httpVersionMajor = 1;
    let cancelled = !finished;
    try {
      const { req, res } = ctx;
      // Closed before finishing: destroyed by the server with an error, or the client went away.
      const serverAbort = !finished && res.errored !== undefined && res.errored !== null;
      method = req.method ?? 'UNKNOWN';
      status = serverAbort ? SERVER_ABORT_STATUS : res.statusCode;
      endpoint ??= routeTemplate(ctx);
      httpVersionMajor = req.httpVersionMajor ?? 1;
      cancelled = !finished && !serverAbort;
    } catch {
      // Unreadable request/response fields: still end the request so inflight stays right.
      method = 'UNKNOWN';
      status = 0;
      endpoint = undefined;
      httpVersionMajor = 1;
      cancelled = !finished;
    }
    let inboundBytes: number | undefined;
    let outboundBytes: number | undefined;
    if (bodySizes) {
      try {
        inboundBytes = contentLength(ctx.req.headers['content-length']);
        outboundBytes = contentLength(ctx.res.getHeader('content-length'));
      } catch {
        // Unreadable headers: sizes unknown.
      }
    }
    let tags: RequestOutcome['extraTags'];
    if (extraTags !== undefined) {
      try {
        const extra = extraTags(ctx);
        if (typeof extra === 'object' && extra !== null) tags = extra;
      } catch {
        // A throwing callback records the request without extra tags.
      }
    }
    outcome.method = method;
    outcome.status = status;
    outcome.endpoint = endpoint;
    outcome.httpVersionMajor = httpVersionMajor;
    outcome.cancelled = cancelled;
    outcome.inboundBytes = inboundBytes;
    outcome.outboundBytes = outboundBytes;
    outcome.extraTags = tags;
    recorder.end(start, outcome);
  }

  return function spectatorKoaMiddleware(ctx: Ctx, next: KoaNext): Promise<unknown> {
    try {
      if (exclude === undefined || !exclude(requestPath(ctx), ctx)) {
        const res = ctx.res;
        // `done` stays true until both listeners are attached and `begin` ran, so a response we
        // could not listen to is neither recorded nor left counted as in flight.
        let done = true;
        let start = 0;
        res.on('finish', () => {
          if (done) return;
          done = true;
          record(ctx, start, true);
        });
        res.on('close', () => {
          if (done) return; // finished normally: already recorded
          done = true;
          record(ctx, start, false);
        });
        start = recorder.begin();
        done = false;
      }
    } catch {
      // Metrics must never fail a request; the request goes on unrecorded.
    }
    return next();
  };
}

function requestPath(ctx: KoaContextLike): string {
  const url = ctx.originalUrl ?? ctx.req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function contentLength(value: number | string | string[] | undefined): number | undefined {
  if (typeof value === 'number') return value >= 0 ? value : undefined;
  if (typeof value !== 'string' || value === '') return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
