/**
 * The route template (`/api/:v/items/:id`) of the request `@koa/router` routed.
 *
 * How: when a route matches, `@koa/router` (every version since koa-router 5.4, including 14)
 * sets `ctx._matchedRoute` to the path of the most specific matching layer, then, as each layer
 * of the chain runs, to that layer's path. Layer paths already include router prefixes and the
 * paths nested routers were `use`d under (the router copies nested layers with those prefixes),
 * so no tree walk is needed: the value read when the response is done is the template.
 *
 * One exception: router-level middleware (`router.use(fn)`) is a layer too, with no HTTP
 * methods and a path like `([^/]*)` or `/api([^/]*)`. When it ran last — typically because it
 * threw or answered before the route ran (auth) — `_matchedRoute` names it, not a route. Then
 * the route the router matched is taken from `ctx.matched` (the layers whose path matched): the
 * most specific one serving the request's method, as the router itself chose.
 *
 * `ctx.routerPath` is not read: router 14 sets it to the same value, and koa-router ≤ 9 used it
 * as an input (a raw path to route on), which would make `ipc.endpoint` unbounded.
 */

import { routeName } from '@spectator/core/ipc';

/** What this module reads from a `@koa/router` layer. */
interface LayerLike {
  path?: unknown;
  methods?: unknown;
}

/** What this module reads from a context. */
export interface RoutedContextLike {
  _matchedRoute?: unknown;
  matched?: unknown;
  req?: { method?: string | undefined } | undefined;
}

/**
 * Name of a layer path: strings as written, a RegExp (`router.get(/^\/re\/(\d+)$/)`) by its
 * source, as every adapter names routes (core's `routeName`). `undefined` for anything else, and
 * for `''`.
 *
 * @example
 * ```ts
 * pathName('/users/:id'); // '/users/:id'
 * pathName(/^\/re\/(\d+)$/); // '/re/(\\d+)'
 * ```
 */
export function pathName(path: unknown): string | undefined {
  if (typeof path !== 'string' && !(path instanceof RegExp)) return undefined;
  const name = routeName(path);
  return name === '' ? undefined : name;
}

/**
 * The template of the `@koa/router` route that handled `ctx` (see the module comment), or
 * `undefined` when no route matched. Never throws on odd input.
 *
 * @example
 * ```ts
 * // router = new Router({ prefix: '/api/:v' }); router.get('/items/:id', …)
 * // GET /api/v1/items/42, read when the response is done:
 * routeTemplate(ctx); // '/api/:v/items/:id'
 * ```
 */
export function routeTemplate(ctx: RoutedContextLike): string | undefined {
  const route = ctx._matchedRoute;
  const name = pathName(route);
  if (name === undefined) return undefined;
  const matched = ctx.matched;
  if (!Array.isArray(matched)) return name;
  const layers = matched as readonly unknown[];
  let current: LayerLike | undefined;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (typeof layer === 'object' && layer !== null && (layer as LayerLike).path === route) {
      current = layer as LayerLike;
      break;
    }
  }
  // A route layer (or one we cannot see): its path is the template.
  if (current === undefined || !isMiddlewareLayer(current)) return name;
  // Router-level middleware ran last: name the route the router matched for this method.
  const method = ctx.req?.method;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i] as LayerLike | null | undefined;
    if (typeof layer !== 'object' || layer === null) continue;
    const methods: unknown = layer.methods;
    if (Array.isArray(methods) && (methods as readonly unknown[]).includes(method)) {
      const routeName = pathName(layer.path);
      if (routeName !== undefined) return routeName;
    }
  }
  return name;
}

function isMiddlewareLayer(layer: LayerLike): boolean {
  return Array.isArray(layer.methods) && layer.methods.length === 0;
}
