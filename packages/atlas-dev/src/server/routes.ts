/**
 * Which handler answers a request: the `Host` check first (403 for a name this endpoint is
 * not reached under), the cross-site check (403 for a request a browser sent from another
 * site), then one route per path (or per path and what lies under it) — the
 * publish path, the pages and their files, the series, graph and tags APIs — with `405` for
 * another method and the aggregator's `404` for any other path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { crossSiteProblem } from './cross-site.js';
import { send, sendDiagnostic } from './responses.js';

export interface Route {
  readonly path: string;
  /** Also answers every path under `path/` (the handler reads which from `url.pathname`). */
  readonly prefix?: boolean;
  /** Methods answered; `HEAD` is answered wherever `GET` is. */
  readonly methods: readonly string[];
  /** Answers as the aggregator does for another method (its JSON), not in plain text. */
  readonly aggregatorErrors?: boolean;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void | Promise<void>;
}

export interface Router {
  /** Host names accepted (see `hostChecker`). */
  readonly hostAllowed: (header: string | undefined) => boolean;
  readonly routes: readonly Route[];
  readonly log: (line: string) => void;
}

function methodAllowed(route: Route, method: string): boolean {
  return route.methods.includes(method) || (method === 'HEAD' && route.methods.includes('GET'));
}

function routeMatches(route: Route, pathname: string): boolean {
  return (
    route.path === pathname || (route.prefix === true && pathname.startsWith(`${route.path}/`))
  );
}

/** Answers one request; a handler that throws is logged and answered `500`. */
export async function dispatch(
  router: Router,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (!router.hostAllowed(req.headers.host)) {
    req.resume();
    router.log(`${method} refused: Host ${req.headers.host ?? ''} is not a name of this endpoint`);
    send(
      res,
      403,
      `Host "${req.headers.host ?? ''}" is not accepted: this endpoint answers to localhost, 127.0.0.1 and [::1] ` +
        '(and the host it was bound to, and allowedHosts / --allow-host), which keeps other web sites from ' +
        'reading it through DNS rebinding.\n',
    );
    return;
  }
  const crossSite = crossSiteProblem(method, req.headers);
  if (crossSite !== undefined) {
    req.resume();
    router.log(`${method} refused: a cross-site request (${crossSite})`);
    send(
      res,
      403,
      `cross-site request refused (${crossSite}): this endpoint answers its own pages and ` +
        'clients that send no Origin (publishers, curl), which keeps other web sites from ' +
        'sending it data or queries.\n',
    );
    return;
  }
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    req.resume();
    send(res, 400, `invalid request target\n`);
    return;
  }
  const route = router.routes.find((r) => routeMatches(r, url.pathname));
  if (route === undefined) {
    req.resume();
    sendDiagnostic(res, 404, `path not found: ${url.pathname}`);
    return;
  }
  if (!methodAllowed(route, method)) {
    req.resume();
    const allow = route.methods.includes('GET') ? [...route.methods, 'HEAD'] : route.methods;
    res.setHeader('allow', allow.join(', '));
    // The aggregator names the method it takes (Pekko's MethodRejection).
    if (route.aggregatorErrors) sendDiagnostic(res, 405, `method not allowed: ${route.methods[0]}`);
    else
      send(res, 405, `method ${method} not allowed on ${route.path}, use ${allow.join(' or ')}\n`);
    return;
  }
  try {
    await route.handle(req, res, url);
  } catch (err) {
    router.log(`internal error: ${String(err)}`);
    if (!res.headersSent) send(res, 500, `${String(err)}\n`);
    else res.destroy();
  }
}
