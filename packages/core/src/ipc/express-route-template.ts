/**
 * The route template (`/api/:v/items/:id`) of the request Express routed.
 *
 * In core because two adapters serve Express apps: `@spectator/express` and `@spectator/nestjs`
 * on Nest's Express platform (whose own routes, and any Express router mounted on its instance,
 * must read the same). It reads apps, routers, layers and routes structurally; core imports no
 * Express.
 *
 * How: Express sets `req.route` to the `Route` object whose handler runs, and `Route.path` is the
 * path exactly as registered (`/items/:id`). What it does not keep per request is the path of the
 * routers that route is mounted under (`app.use('/api/:v', router)`). Instead of patching Express
 * prototypes to record mount paths as requests pass (OpenTelemetry's approach), we walk the app's
 * router tree — `app._router` (Express 4) or `app.router` (Express 5), descending into every
 * layer whose handle is a router (a function with a `stack`) — and compute, once, the full
 * template of every `Route` found. Results live in a `WeakMap` per app keyed by the `Route`
 * object, and each `Route` also carries the template it was first given, with that app, under a
 * private, non-enumerable symbol, so a request costs one property read; nothing per request
 * depends on mutable layer state, so concurrency cannot mix up routes.
 *
 * The mount path of each router layer comes from:
 * - router ≥ 2.3 (Express 5): `layer.rawPath`, the path as given to `use`;
 * - Express 4: the `layer.regexp` path-to-regexp 0.1.x compiled, read back
 *   (`express-path-names.ts`); unrecognised shapes are named by their RegExp source;
 * - router 2.0–2.2 (Express 5.0/5.1 lockfiles): `layer.path`, which holds the path as given only
 *   until the layer first matches. The tree is therefore walked when the first request reaches
 *   the adapter (Express middleware, Nest request hook), before it reaches any later layer;
 *   layers added afterwards are named from their last match (`templateFromMatch`), or `/*` when
 *   even that is unknown.
 *
 * A `Route` reachable through several mount paths (a router mounted twice) is named with the
 * alternatives, `(/v1/items/:id|/v2/items/:id)`; a route found in no walked tree (a router
 * invoked by hand) is named by its own path. Sub-apps (`app.use('/admin', adminApp)`) carry
 * their `mountpath` and `parent`, which give the prefix.
 */
import {
  express4MountFallback,
  express4MountPath,
  joinRoute,
  mountPart,
  pathName,
  templateFromMatch,
} from './express-path-names.js';

/** What this module reads from an Express app, router, layer and route. */
interface RouterLike {
  stack: LayerLike[];
}
interface LayerLike {
  handle?: unknown;
  route?: { path?: unknown } | undefined;
  rawPath?: unknown;
  matchers?: unknown;
  regexp?: RegExp & { fast_slash?: boolean; fast_star?: boolean };
  keys?: { name: string | number }[];
  path?: unknown;
  params?: Record<string, unknown>;
}
interface AppLike {
  _router?: unknown;
  router?: unknown;
  mountpath?: unknown;
  parent?: unknown;
}

/** Mount segment of a router 2.0–2.2 layer whose path could not be read. */
const UNKNOWN_MOUNT = '/*';

/** Per app: route object → full template (including the app's own mount prefix). */
const appRoutes = new WeakMap<object, WeakMap<object, string>>();
/** Mount templates read from layers (router 2.0–2.2 paths must be read before the first match). */
const mountTemplates = new WeakMap<object, string>();
let lastApp: object | undefined;
let lastRoutes: WeakMap<object, string> | undefined;

/**
 * Where a `Route` keeps its template and the app it was computed for. One property read per
 * request: in the bench's isolated Express case the scan of the app's recent routes by `===` it
 * replaces cost ~20 ns more per request. Non-enumerable: spreads, `Object.assign` and
 * `Object.keys` do not see it.
 */
const CACHED_TEMPLATE = Symbol('@spectator/core express route template');
interface CachedTemplate {
  readonly app: object;
  readonly template: string;
}

/**
 * Indexes `app`'s routes the first time it is seen. Called by the adapter as a request reaches it
 * (the Express middleware before `next()`, Nest's request hook), so router 2.0–2.2 layers after
 * it are read while they still hold their paths.
 *
 * @example
 * ```ts
 * app.use((req, _res, next) => {
 *   primeExpressRoutes(req.app);
 *   next();
 * });
 * ```
 */
export function primeExpressRoutes(app: unknown): void {
  if (app === lastApp || (typeof app !== 'function' && (typeof app !== 'object' || app === null)))
    return;
  if (!appRoutes.has(app)) indexApp(app);
}

/**
 * Template of the route that handled `req` (an Express request, read when its response is done),
 * with the mount paths of the routers and sub-apps it sits under: `/api/:v/items/:id`.
 * `undefined` when no route matched. Never throws.
 *
 * @example
 * ```ts
 * app.get('/users', (req, res) => res.send(expressRouteTemplate(req))); // under /api/:v:
 * // → '/api/:v/users'
 * ```
 */
export function expressRouteTemplate(req: { route?: unknown; app?: unknown }): string | undefined {
  const route = req.route;
  if (typeof route !== 'object' || route === null) return undefined;
  const cached = (route as { [CACHED_TEMPLATE]?: CachedTemplate })[CACHED_TEMPLATE];
  if (cached !== undefined && cached.app === req.app) return cached.template;
  return templateOf(route, req.app);
}

/** {@link expressRouteTemplate} of a route not yet named for this app: its map, else its tree. */
function templateOf(route: object, app: unknown): string | undefined {
  if (typeof app !== 'function' && (typeof app !== 'object' || app === null)) {
    return joinRoute('', pathName((route as { path?: unknown }).path) ?? '');
  }
  let routes: WeakMap<object, string> | undefined;
  if (app === lastApp) {
    routes = lastRoutes;
  } else {
    routes = appRoutes.get(app);
    lastApp = app;
    lastRoutes = routes;
  }
  let found = routes?.get(route);
  if (found === undefined) {
    try {
      found = resolveRoute(app, route);
    } catch {
      return pathName((route as { path?: unknown }).path);
    }
  }
  remember(route, app, found);
  return found;
}

/**
 * Stores `template` on `route` for {@link expressRouteTemplate}'s next read. The first app to
 * name a route keeps the slot: a router shared by two apps would otherwise redefine it per
 * request.
 */
function remember(route: object, app: object, template: string): void {
  if (Object.prototype.hasOwnProperty.call(route, CACHED_TEMPLATE)) return;
  try {
    const cached: CachedTemplate = { app, template };
    Object.defineProperty(route, CACHED_TEMPLATE, { value: cached }); // read-only, not enumerable
  } catch {
    // A frozen or sealed route: found through the app's map on every request instead.
  }
}

function resolveRoute(app: object, route: object): string {
  const routes = indexApp(app);
  let found = routes.get(route);
  if (found === undefined) {
    // Not reachable from the app's router: name it by its own path under the app's prefix.
    found = joinRoute(appPrefix(app), pathName((route as { path?: unknown }).path) ?? '');
    routes.set(route, found);
  }
  return found;
}

/** Walks `app`'s router tree and records the template of every route not seen before. */
function indexApp(app: object): WeakMap<object, string> {
  let routes = appRoutes.get(app);
  if (routes === undefined) {
    routes = new WeakMap();
    appRoutes.set(app, routes);
  }
  lastApp = app;
  lastRoutes = routes;
  const router = appRouter(app as AppLike);
  if (router === undefined) return routes;
  /** Per app (this one, and sub-apps mounted through its routers): route → its templates. */
  const found = new Map<object, Map<object, Set<string>>>();
  try {
    walk(router, appPrefix(app), new Set(), found, app);
  } catch {
    // A tree we cannot read leaves routes to the fallback naming.
  }
  for (const [owner, templates] of found) {
    let names = appRoutes.get(owner);
    if (names === undefined) {
      names = new WeakMap();
      appRoutes.set(owner, names);
    }
    for (const [route, set] of templates) {
      if (names.has(route)) continue; // names stay stable once given
      const list = [...set];
      names.set(route, list.length === 1 ? list[0]! : `(${list.join('|')})`);
    }
  }
  return routes;
}

/**
 * Records the template of every route under `router` into `found`, under the app whose requests
 * reach it (`req.app` while the route runs): `app`, or a sub-app mounted through a router
 * (`router.use('/admin', adminApp)`), which sets `req.app` to itself and carries no `parent`
 * from which its prefix could be read later.
 */
function walk(
  router: RouterLike,
  prefix: string,
  ancestors: Set<object>,
  found: Map<object, Map<object, Set<string>>>,
  app: object,
): void {
  for (const layer of router.stack) {
    const route = layer.route;
    if (typeof route === 'object' && route !== null) {
      let templates = found.get(app);
      if (templates === undefined) {
        templates = new Map();
        found.set(app, templates);
      }
      let set = templates.get(route);
      if (set === undefined) {
        set = new Set();
        templates.set(route, set);
      }
      set.add(joinRoute(prefix, pathName(route.path) ?? ''));
      continue;
    }
    const handle = layer.handle;
    if (typeof handle !== 'function' || ancestors.has(handle)) continue;
    const subApp = isApp(handle) ? handle : undefined;
    const subRouter = subApp !== undefined ? appRouter(subApp as AppLike) : handle;
    if (!isRouter(subRouter)) continue;
    ancestors.add(handle);
    walk(subRouter, prefix + mountPart(mountTemplate(layer)), ancestors, found, subApp ?? app);
    ancestors.delete(handle);
  }
}

/** An Express application (a function with `handle`, `set` and `enabled`), not a router. */
function isApp(handle: unknown): handle is object {
  const h = handle as { handle?: unknown; set?: unknown; enabled?: unknown; stack?: unknown };
  return (
    typeof h.handle === 'function' &&
    typeof h.set === 'function' &&
    typeof h.enabled === 'function' &&
    !Array.isArray(h.stack)
  );
}

function isRouter(handle: unknown): handle is RouterLike & object {
  return typeof handle === 'function' && Array.isArray((handle as { stack?: unknown }).stack);
}

/** The path a router layer was mounted with (see the module comment for where it comes from). */
function mountTemplate(layer: LayerLike): string {
  const cached = mountTemplates.get(layer);
  if (cached !== undefined) return cached;
  let template: string | undefined;
  let final = true;
  if ('rawPath' in layer) {
    template = pathName(layer.rawPath); // router ≥ 2.3
  } else if (layer.regexp instanceof RegExp) {
    template =
      express4MountPath(layer.regexp, layer.keys ?? []) ?? express4MountFallback(layer.regexp); // Express 4
  } else if (layer.params === undefined && layer.path !== undefined) {
    template = pathName(layer.path); // router 2.0–2.2, never matched yet: still the path as given
  } else if (
    typeof layer.path === 'string' &&
    typeof layer.params === 'object' &&
    layer.params !== null
  ) {
    template = templateFromMatch(layer.path, layer.params); // router 2.0–2.2, already matched
  } else {
    final = false;
  }
  template ??= UNKNOWN_MOUNT;
  if (final) mountTemplates.set(layer, template);
  return template;
}

function appRouter(app: AppLike): RouterLike | undefined {
  try {
    if (isRouter(app._router)) return app._router; // Express 4
    const router = app.router; // Express 5 (a getter; Express 4's throws)
    return isRouter(router) ? router : undefined;
  } catch {
    return undefined;
  }
}

/** Mount prefix of a sub-app: its parents' `mountpath`s, `''` for the top-level app. */
function appPrefix(app: object): string {
  let prefix = '';
  let current = app as AppLike;
  for (
    let depth = 0;
    depth < 32 && current.parent !== undefined && current.parent !== null;
    depth++
  ) {
    prefix = mountPart(pathName(current.mountpath) ?? '') + prefix;
    current = current.parent as AppLike;
  }
  return prefix;
}
