/**
 * The route template (`/api/users/:id`) of the request Fastify routed.
 *
 * How: Fastify keeps, per route, the URL it was registered with, prefixes of the plugins it was
 * registered in included (`app.register(users, { prefix: '/api' })` + `get('/users/:id')` →
 * `/api/users/:id`), and exposes it as `request.routeOptions.url` (Fastify ≥ 4.10 and 5). Wildcard
 * (`/files/*`) and regular-expression routes (`/orders/:id(^\\d+)`) read as registered: one value
 * per route of the app, never the path a client sent. Requests no route took are handled by a
 * not-found handler, whose context has no URL (what `request.is404` tests), and so is a request
 * whose route called `reply.callNotFound()`: Fastify moves it to the not-found context.
 *
 * Read when the response is done, so that a request passed on to the not-found handler reads as
 * unmatched.
 */

/** What this module reads from a Fastify request. */
export interface RoutedRequestLike {
  /** Fastify: the options of the route that took the request; `url` is its template. */
  readonly routeOptions?: { readonly url?: unknown } | undefined;
}

/**
 * The template of the route that took `request`, or `undefined` when none did (a 404). Never
 * throws for the objects Fastify creates.
 *
 * @example
 * ```ts
 * // app.register(async (api) => api.get('/users/:id', handler), { prefix: '/api' })
 * // GET /api/users/7, read when the response is done:
 * routeTemplate(request); // '/api/users/:id'
 * ```
 */
export function routeTemplate(request: RoutedRequestLike): string | undefined {
  const url = request.routeOptions?.url;
  return typeof url === 'string' && url !== '' ? url : undefined;
}
