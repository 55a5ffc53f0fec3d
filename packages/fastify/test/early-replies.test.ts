// Requests answered by a hook that runs before the plugin's own `onRequest` hook (rate limits,
// auth, CORS: plugins usually registered first), on real Fastify 4 and 5 apps, over real sockets
// and through `inject()`. Fastify skips the later `onRequest` hooks once a hook has answered;
// each such request is still recorded exactly once, with the template of the route it was
// routed to, as a request answered by its handler is.
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spectatorPlugin, type SpectatorPluginOptions } from '../src/index.js';
import { FASTIFY_MAJORS, MetricsHarness, send } from './helpers.js';

/**
 * Root-level `onRequest` hooks as an auth or rate-limit plugin adds them (not encapsulated), by
 * the `x-gate` header: `deny` → 401 and `throttle` → 429 sent from a callback hook, `slow` → 429
 * sent from an async hook, `forbid` → a thrown 403 that Fastify's error handler answers.
 */
const gate = (fastifyPlugin as unknown as (plugin: FastifyPluginCallback) => FastifyPluginCallback)(
  (instance, _options, done) => {
    instance.addHook('onRequest', (request, reply, next) => {
      const value = request.headers['x-gate'];
      if (value === 'deny') reply.code(401).send({ error: 'unauthorized' });
      else if (value === 'throttle') reply.code(429).send('slow down');
      else next();
    });
    instance.addHook('onRequest', async (request, reply) => {
      const value = request.headers['x-gate'];
      if (value === 'slow') return reply.code(429).send('slow down');
      if (value === 'forbid') throw Object.assign(new Error('forbidden'), { statusCode: 403 });
      return undefined;
    });
    done();
  },
);

/** Requests to send, each as [path, x-gate] (`''`: no header). */
const REQUESTS: readonly (readonly [string, string])[] = [
  ['/users/1', ''],
  ['/users/2', 'deny'],
  ['/users/3', 'throttle'],
  ['/users/4', 'slow'],
  ['/users/5', 'forbid'],
  ['/nowhere', 'deny'],
];

/** What REQUESTS are recorded as: `http.status ipc.status endpoint`, sorted. */
const EXPECTED = [
  '200 success _users__id',
  '401 access_denied _users__id',
  '403 access_denied _users__id',
  '429 throttled _users__id',
  '429 throttled _users__id',
  // Routed to the not-found handler: no template, whatever answered it.
  '401 access_denied unknown',
].sort();

const STATUSES = [200, 401, 429, 429, 403, 401];

const headersOf = (value: string): Record<string, string> =>
  value === '' ? {} : { 'x-gate': value };

describe.each(FASTIFY_MAJORS)('Fastify $major replies sent by earlier hooks', ({ fastify }) => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  /** An app with the gate registered first, then the plugin, then `/users/:id`. */
  async function gatedApp(options: SpectatorPluginOptions = {}): Promise<FastifyInstance> {
    const app = fastify();
    await app.register(gate);
    await app.register(spectatorPlugin, { registry: h.registry, ...options });
    app.get('/users/:id', async (request) => ({ id: (request.params as { id: string }).id }));
    return app;
  }

  const recorded = () => h.callLines();

  it('over a real server: each request once, with the route template, also when an earlier hook answered', async () => {
    const app = await gatedApp({
      extraTags: (request, reply) => ({
        gate: String(request.headers['x-gate'] ?? 'open'),
        sent: String(reply.statusCode),
      }),
    });
    const url = await h.serve(app);
    const statuses: number[] = [];
    for (const [path, value] of REQUESTS)
      statuses.push((await send(`${url}${path}`, { headers: headersOf(value) })).status);
    expect(statuses).toEqual(STATUSES);
    await h.recorded(REQUESTS.length);
    expect(recorded()).toEqual(EXPECTED);
    expect(h.inflightCount()).toBe(REQUESTS.length);
    // The callbacks got Fastify's request and reply for the early answers too.
    expect(h.callCount({ 'ipc.endpoint': '_users__id', gate: 'deny', sent: '401' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': '_users__id', gate: 'open', sent: '200' })).toBe(1);
  });

  it('through inject(): each request once, with the route template, also when an earlier hook answered', async () => {
    const app = await gatedApp();
    h.onStop(() => app.close());
    const statuses: number[] = [];
    for (const [url, value] of REQUESTS)
      statuses.push((await app.inject({ url, headers: headersOf(value) })).statusCode);
    expect(statuses).toEqual(STATUSES);
    await h.recorded(REQUESTS.length);
    expect(recorded()).toEqual(EXPECTED);
    expect(h.inflightCount()).toBe(REQUESTS.length);
  });

  it('leaves excluded and ingress-measured requests unrecorded when an earlier hook answered them, server and inject()', async () => {
    const app = await gatedApp({ exclude: '/health' });
    app.get('/health', async () => 'ok');
    const url = await h.serve(app);
    const ingress = { 'netflix-ingress-common-ipc-metrics': 'true' };
    expect((await send(`${url}/health`, { headers: headersOf('deny') })).status).toBe(401);
    expect(
      (await send(`${url}/users/1`, { headers: { ...headersOf('deny'), ...ingress } })).status,
    ).toBe(401);
    expect((await app.inject({ url: '/health', headers: headersOf('deny') })).statusCode).toBe(401);
    expect(
      (await app.inject({ url: '/users/2', headers: { ...headersOf('deny'), ...ingress } }))
        .statusCode,
    ).toBe(401);
    // The last ones in, recorded.
    expect((await send(`${url}/users/3`)).status).toBe(200);
    expect((await app.inject('/users/4')).statusCode).toBe(200);
    await h.recorded(2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await h.registry.publish();
    expect(recorded()).toEqual(['200 success _users__id', '200 success _users__id']);
    expect(h.inflightCount()).toBe(2);
  });

  it('registered inside an encapsulated plugin: its routes’ requests answered by a root hook, once each', async () => {
    const app = fastify();
    await app.register(gate);
    app.get('/outside', async () => 'outside');
    await app.register(
      async (api) => {
        await api.register(spectatorPlugin, { registry: h.registry });
        api.get('/items/:id', async () => 'item');
      },
      { prefix: '/api' },
    );
    const url = await h.serve(app);
    expect((await send(`${url}/api/items/1`)).status).toBe(200);
    expect((await send(`${url}/api/items/2`, { headers: headersOf('deny') })).status).toBe(401);
    expect((await send(`${url}/outside`, { headers: headersOf('deny') })).status).toBe(401);
    expect(
      (await app.inject({ url: '/api/items/3', headers: headersOf('throttle') })).statusCode,
    ).toBe(429);
    await h.recorded(3);
    expect(recorded()).toEqual([
      '200 success _api_items__id',
      '401 access_denied _api_items__id',
      '429 throttled _api_items__id',
    ]);
  });
});
