import { IpcServerRecorder, compileExclude, type RequestOutcome } from '@spectator/core/ipc';
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
 * `app.use` it before the routes. Each request is recorded exactly once, when its final status is
 * known: on the response's `finish` — after Express's or your error handler has set the status of
 * a thrown or `next(err)` error, and after a streamed body has ended — or on `close` without
 * `finish` when the client went away (`ipc.status=cancelled`). The middleware never changes the
 * response, never handles errors, and never throws.
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
  function record(req: Req, res: Res, start: number, cancelled: boolean): void {
    let endpoint: string | undefined;
    if (endpointTag !== undefined) {
      try {
        const tag = endpointTag(req, res);
        if (typeof tag === 'string' && tag !== '') endpoint = tag;
      } catch {
        // A throwing override falls back to the route template.
      }
    }
    let method = 'UNKNOWN';
    let status = 0;
    let httpVersionMajor = 1;
    try {
      method = req.method ?? 'UNKNOWN';
      status = res.statusCode;
      endpoint ??= routeTemplate(req);
      httpVersionMajor = req.httpVersionMajor ?? 1;
    } catch {
      // Unreadable request/response fields: still end the request so inflight stays right.
      method = 'UNKNOWN';
      status = 0;
      endpoint = undefined;
      httpVersionMajor = 1;
    }
    let inboundBytes: number | undefined;
    let outboundBytes: number | undefined;
    if (bodySizes) {
      try {
        inboundBytes = contentLength(req.headers['content-length']);
        outboundBytes = contentLength(res.getHeader('content-length'));
      } catch {
        // Unreadable headers: sizes unknown.
      }
    }
    let tags: RequestOutcome['extraTags'];
    if (extraTags !== undefined) {
      try {
        const extra = extraTags(req, res);
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

  return function spectatorExpressMiddleware(req: Req, res: Res, next: NextFunctionLike): void {
    try {
      if (exclude === undefined || !exclude(requestPath(req), req)) {
        primeRoutes(req.app);
        // `done` stays true until both listeners are attached and `begin` ran, so a response we
        // could not listen to is neither recorded nor left counted as in flight.
        let done = true;
        let start = 0;
        res.on('finish', () => {
          if (done) return;
          done = true;
          record(req, res, start, false);
        });
        res.on('close', () => {
          if (done) return; // finished normally: already recorded
          done = true;
          record(req, res, start, true); // closed before finishing: the client went away
        });
        start = recorder.begin();
        done = false;
      }
    } catch {
      // Metrics must never fail a request; the request goes on unrecorded.
    }
    next();
  };
}

function requestPath(req: ExpressRequestLike): string {
  const url = req.originalUrl ?? req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function contentLength(value: number | string | string[] | undefined): number | undefined {
  if (typeof value === 'number') return value >= 0 ? value : undefined;
  if (typeof value !== 'string' || value === '') return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
