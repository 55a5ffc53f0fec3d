/**
 * The Fastify plugin: the server's `request` event and two Fastify hooks over core's
 * `ServerRequestTracker`, the request lifecycle the Express, Koa and Nest adapters share.
 *
 * Where it hooks, and why. Timing starts at the HTTP server's `request` event (our listener
 * prepended, so ahead of Fastify's own), because Fastify answers some requests before any hook
 * runs and without making a request object: a malformed URL's 400, a too-long parameter's 414,
 * 503 while the app closes. The `onRequest` hook, the first hook Fastify runs for a request
 * (its not-found handler's included), only tells which Fastify request and reply the Node
 * request became, so that the route template and the reply's headers can be read when the
 * response is done. Requests the server never sees (`inject()`) are timed from that hook. An
 * `onRequest` hook added before ours (an auth or rate-limit plugin registered first) may answer
 * the request itself, and Fastify then runs no later `onRequest` hook: the `onSend` hook, which
 * runs for every reply Fastify sends (a hook's, an error handler's, a handler's) before its head
 * is written, tells it then (and times an injected request from there). The tracker records
 * when Node's response emits `close`: after it finished, or alone when cut short (`cancelled`
 * when the client went away, a 500 when the server cut it), so whatever produced the response —
 * a handler, an error handler, a hook, a body parser, the not-found handler, Fastify's router —
 * the status recorded is the one the client got, exactly once.
 *
 * Encapsulation. The plugin is wrapped by `fastify-plugin`, so its hooks are added to the
 * context it is registered in rather than to a context of its own; Fastify adds a hook added to
 * a context to every context below it, those of plugins registered earlier included. Registered
 * on the root instance (the usual way) it therefore sees every route of the app and listens to
 * the server. Registered inside an encapsulated plugin, it records only the requests routed to
 * that plugin's routes and not-found handler, timed from its hooks: the server's `request` event
 * carries requests of the whole app.
 *
 * One request, one record: the first hook to see a Node request leaves its reply on it (under a
 * `Symbol.for` key, so that two copies of this package agree), and a request already marked is
 * not tracked again.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyPluginCallback, FastifyReply } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import {
  ServerRequestTracker,
  compileExclude,
  fastifyRouting,
  optionError,
  type FastifyConfigLike,
  type ServerRequestReader,
  type ServerTrackingOptions,
} from '@spectator/core/ipc';
import { routeTemplate } from './route-template.js';
import type { RawRequest, SpectatorPluginOptions } from './types.js';

/**
 * `owner` tag of every meter this package records: `'spectator-fastify'`.
 *
 * @example
 * ```ts
 * registry.measurements().filter((m) => m.tags.owner === OWNER); // this package's series
 * ```
 */
export const OWNER = 'spectator-fastify';

/** The reply of a Node request, once one of our hooks saw it; `null` while only the server has. */
const REPLY = Symbol.for('@spectator/fastify.reply');
/** Set on the context the plugin was registered in (children inherit it through prototypes). */
const INSTALLED = Symbol.for('@spectator/fastify.installed');

/** Node's request with what the plugin leaves on it. */
type TrackedRequest = RawRequest & { [REPLY]?: FastifyReply | null };

interface ServerLike {
  prependListener(
    event: 'request',
    listener: (req: TrackedRequest, res: ServerResponse) => void,
  ): unknown;
}

/** The plugin before `fastify-plugin` marks it (see {@link spectatorPlugin}). */
function spectatorFastify(
  instance: FastifyInstance,
  options: SpectatorPluginOptions,
  done: (err?: Error) => void,
): void {
  let tracker: ServerRequestTracker<TrackedRequest>;
  try {
    if ((instance as { [INSTALLED]?: boolean })[INSTALLED] === true)
      throw optionError(
        OWNER,
        'the plugin is registered twice in one context (or in a context and one above it); every request would be recorded twice',
      );
    tracker = createTracker(
      options,
      fastifyRouting((instance as { initialConfig?: FastifyConfigLike }).initialConfig),
    );
  } catch (error) {
    done(error as Error);
    return;
  }
  (instance as { [INSTALLED]?: boolean })[INSTALLED] = true;
  if (isRootContext(instance)) listenToServer(instance.server, tracker);
  // The first hook to see the request marks it: normally `onRequest`, which runs for every
  // request Fastify routes, ahead of parsing. An `onRequest` hook registered before the plugin
  // (an auth or rate-limit plugin) may answer first, and Fastify then runs no later `onRequest`
  // hook: `onSend` still runs for that reply, before its head is written (so before the tracker
  // reads the route). For every other request it is one comparison.
  instance.addHook('onRequest', (request, reply, next) => {
    try {
      markReply(request.raw as TrackedRequest, reply, tracker);
    } catch {
      // A request object we cannot mark: recorded by the server's listener, without its route.
    }
    next();
  });
  instance.addHook('onSend', (request, reply, payload, next) => {
    try {
      const raw = request.raw as TrackedRequest;
      if (raw[REPLY] !== reply) markReply(raw, reply, tracker);
    } catch {
      // As in onRequest.
    }
    next(null, payload);
  });
  done();
}

/**
 * Leaves `reply` on its Node request, unless a hook already did; a request the server's listener
 * did not track (`inject()`, or the plugin is not on the root context) is tracked from here.
 */
function markReply(
  raw: TrackedRequest,
  reply: FastifyReply,
  tracker: ServerRequestTracker<TrackedRequest>,
): void {
  const seen = raw[REPLY];
  if (seen === null) {
    raw[REPLY] = reply; // timed since the server's `request` event
  } else if (seen === undefined) {
    // Not seen by the server (`inject()`), or the plugin is not on the root context.
    raw[REPLY] = reply;
    tracker.track(raw, reply.raw);
  }
}

/**
 * Builds the tracker of one registration: options checked (throws `SpectatorConfigError`),
 * `exclude` compiled for the app's routing, the callbacks given Fastify's request and reply.
 */
function createTracker(
  options: SpectatorPluginOptions,
  routing: ReturnType<typeof fastifyRouting>,
): ServerRequestTracker<TrackedRequest> {
  const { endpointTag, extraTags } = options;
  const reader: ServerRequestReader<TrackedRequest> = {
    request: (raw) => raw,
    path: (raw) => routing.path(raw.url),
    routeTemplate: (raw) => {
      const reply = raw[REPLY];
      return reply === undefined || reply === null ? undefined : routeTemplate(reply.request);
    },
    // Fastify hands its headers to writeHead(), where getHeader() cannot see them.
    responseHeader: (raw, res, name) => raw[REPLY]?.getHeader(name) ?? res.getHeader(name),
  };
  return new ServerRequestTracker<TrackedRequest>(
    OWNER,
    {
      ...options,
      exclude: compileExclude<TrackedRequest>(options.exclude, routing.matching),
      // Fastify's request and reply, when Fastify made them; a callback that is not a function is
      // passed on as it is, for the tracker's check to refuse.
      endpointTag:
        typeof endpointTag === 'function'
          ? (raw, _res, route) => {
              const reply = raw[REPLY];
              return reply === undefined || reply === null
                ? undefined
                : endpointTag(reply.request, reply, route);
            }
          : (endpointTag as ServerTrackingOptions<TrackedRequest>['endpointTag']),
      extraTags:
        typeof extraTags === 'function'
          ? (raw) => {
              const reply = raw[REPLY];
              return reply === undefined || reply === null
                ? undefined
                : extraTags(reply.request, reply);
            }
          : (extraTags as ServerTrackingOptions<TrackedRequest>['extraTags']),
    },
    reader,
  );
}

/**
 * The root context, not an encapsulated one: Fastify makes each encapsulated context with
 * `Object.create(parent)`, so a context whose prototype is another context of the same server
 * is a child. Anything unexpected counts as the root (the server is then listened to).
 */
function isRootContext(instance: FastifyInstance): boolean {
  const parent: unknown = Object.getPrototypeOf(instance);
  if (typeof parent !== 'object' || parent === null) return true;
  const p = parent as Partial<FastifyInstance>;
  return !(typeof p.addHook === 'function' && p.server === instance.server);
}

/**
 * Tracks every request from the HTTP server's `request` event, ahead of Fastify's own listener:
 * the only place that sees the requests Fastify answers before any hook. Nothing happens when the
 * app's server cannot be listened to (a `serverFactory` returning something else): requests are
 * then timed from the hook.
 */
function listenToServer(server: unknown, tracker: ServerRequestTracker<TrackedRequest>): void {
  if (typeof (server as Partial<ServerLike> | null)?.prependListener !== 'function') return;
  (server as ServerLike).prependListener('request', (raw, res) => {
    try {
      if (raw[REPLY] !== undefined) return;
      raw[REPLY] = null;
    } catch {
      return; // a request object we cannot mark: the hook times it
    }
    tracker.track(raw, res);
  });
}

/**
 * Fastify plugin recording Netflix's common IPC server metrics for every request:
 * `ipc.server.call` (percentile timer, or plain timer) and `ipc.server.inflight`, tagged with
 * `owner=spectator-fastify`, `ipc.result`, `ipc.status`, `ipc.endpoint` (the route template,
 * prefixes of registered plugins included; `unknown` when no route matched), `http.method`
 * (`get`, `post`, `put`, `patch`, `delete`, `options`, else `unknown`), `http.status`,
 * `ipc.protocol`, and from the caller's Netflix headers `ipc.client.asg` / `.app` / `.cluster`
 * and `ipc.vip` (see `netflixHeaders`).
 *
 * Register it on the root instance; it sees every route of the app, those of plugins registered
 * before it included (it is a `fastify-plugin`: not encapsulated). Each request is recorded
 * exactly once, when its response closes: with the status Fastify's or your error handler sent,
 * after a streamed body ended; `ipc.status=cancelled` when the client went away;
 * `http.status=500` when the server cut the response short. Answers Fastify makes before any
 * hook (a malformed URL's 400, a too-long parameter's 414, 503 while closing) are recorded too,
 * as `unknown`; `inject()` requests are recorded from the `onRequest` hook. A reply sent by an
 * `onRequest` hook that runs before the plugin's (auth, rate limits) is recorded with its route's
 * template too (seen from `onSend`). Fastify 4.10+ and 5.
 * It never changes the reply, never handles errors, and never throws into a request; invalid
 * options make `app.ready()` reject with a `SpectatorConfigError` (`ERR_SPECTATOR_INVALID_NUMBER`,
 * `ERR_SPECTATOR_INVALID_OPTION`, also for registering it twice in one context).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { spectatorPlugin } from '@spectator/fastify';
 *
 * const app = Fastify();
 * await app.register(spectatorPlugin, { exclude: '/health' });
 * app.get('/users/:id', async (request) => ({ id: (request.params as { id: string }).id }));
 * // → ipc.server.call{ipc.endpoint=/users/:id, http.method=get, http.status=200, …}
 * ```
 */
export const spectatorPlugin: FastifyPluginCallback<SpectatorPluginOptions> =
  // fastify-plugin's typings import `fastify` from wherever the install put fastify-plugin, which
  // may be another copy of Fastify than the app's (a workspace or an app with two majors): its
  // inferred type is then not the app's. It returns the function it was given, so it is typed as
  // that function here.
  /* @__PURE__ */ (
    fastifyPlugin as unknown as (
      plugin: FastifyPluginCallback<SpectatorPluginOptions>,
      meta: { fastify: string; name: string },
    ) => FastifyPluginCallback<SpectatorPluginOptions>
  )(spectatorFastify, {
    fastify: '^4.10.0 || ^5.0.0',
    name: '@spectator/fastify',
  });
