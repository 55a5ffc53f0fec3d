// The options that read the app or the request, on real Fastify 4 and 5 apps: `exclude` path
// rules compared as the app's router compares paths, predicates that get Node's request, and the
// callbacks that get Fastify's request and reply.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spectatorPlugin } from '../src/index.js';
import { FASTIFY_MAJORS, MetricsHarness, send } from './helpers.js';

describe.each(FASTIFY_MAJORS)('Fastify $major options', ({ major, fastify }) => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  /** Router settings where each major takes them (Fastify 5 deprecates the top-level ones). */
  const routerOptions = (settings: Record<string, boolean>) =>
    major === 4 ? settings : { routerOptions: settings };

  /** Sends each path to an app with `/health` and `/items/:id` and the settings; counts records. */
  async function recordedOf(
    settings: Record<string, boolean>,
    exclude: string,
    paths: readonly string[],
  ): Promise<number> {
    const app = fastify(routerOptions(settings));
    await app.register(spectatorPlugin, { registry: h.registry, exclude });
    app.get('/health', async () => 'ok');
    app.get('/items/:id', async () => 'item');
    const url = await h.serve(app);
    for (const path of paths) await send(`${url}${path}`);
    await send(`${url}/items/1`); // recorded: the last one in
    await h.recorded(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await h.registry.publish();
    return h.callCount() - 1;
  }

  const variants = ['/health', '/HEALTH', '/health/', '//health', '/health;v=1', '/health?x=1'];

  it('exclude by default: exact case, and the rest of Fastify’s defaults', async () => {
    // Excluded: /health, /health/ (below the rule), /health?x=1; Fastify 4 also cuts at `;`.
    expect(await recordedOf({}, '/health', variants)).toBe(major === 4 ? 2 : 3);
  });

  it('exclude with caseSensitive: false, ignoreDuplicateSlashes and useSemicolonDelimiter, as the router routes', async () => {
    const settings = {
      caseSensitive: false,
      ignoreDuplicateSlashes: true,
      useSemicolonDelimiter: true,
    };
    expect(await recordedOf(settings, '/health', variants)).toBe(0);
  });

  it('exclude with a trailing slash: it counts unless ignoreTrailingSlash', async () => {
    expect(await recordedOf({}, '/health/', ['/health', '/health/', '/health/live'])).toBe(1);
    h.atlas.clear();
    expect(
      await recordedOf({ ignoreTrailingSlash: true }, '/health/', ['/health', '/health/']),
    ).toBe(0);
  });

  it('exclude predicates get the path and Node’s request', async () => {
    const seen: string[] = [];
    const app = fastify();
    await app.register(spectatorPlugin, {
      registry: h.registry,
      exclude: [
        (path, raw) => {
          seen.push(`${raw.method} ${path} ${raw.headers['x-probe'] ?? ''}`);
          return raw.headers['x-probe'] === 'yes';
        },
        /^\/static\//,
      ],
    });
    app.get('/items/:id', async () => 'item');
    app.get('/static/*', async () => 'file');
    const url = await h.serve(app);
    await send(`${url}/items/1?full=1`, { headers: { 'x-probe': 'yes' } });
    await send(`${url}/static/app.js`);
    await send(`${url}/items/2`);
    await h.recorded(1);
    expect(h.callCount()).toBe(1);
    expect(seen).toEqual(['GET /items/1 yes', 'GET /static/app.js ', 'GET /items/2 ']);
  });

  it('endpointTag and extraTags read Fastify’s request and reply (a GraphQL operation, a decorated field)', async () => {
    const app = fastify();
    app.decorateRequest('tier', '');
    app.addHook('onRequest', async (request) => {
      (request as unknown as { tier: string }).tier = String(request.headers['x-tier'] ?? 'free');
    });
    await app.register(spectatorPlugin, {
      registry: h.registry,
      endpointTag: (request, _reply, route) =>
        route === '/graphql'
          ? `graphql:${(request.body as { operationName?: string }).operationName}`
          : undefined,
      extraTags: (request, reply) => ({
        tier: (request as unknown as { tier: string }).tier,
        cache: String(reply.getHeader('x-cache') ?? 'none'),
      }),
    });
    app.post('/graphql', async (_request, reply) => reply.header('x-cache', 'hit').send('{}'));
    const url = await h.serve(app);
    const query = (operationName: string) =>
      send(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tier': 'gold' },
        body: JSON.stringify({ operationName }),
      });
    await query('GetUser');
    await query('ListOrders');
    await send(`${url}/nowhere`);
    await h.recorded(3);
    expect(h.callCount({ 'ipc.endpoint': 'graphql_GetUser', tier: 'gold', cache: 'hit' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': 'graphql_ListOrders' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': 'unknown', tier: 'free', cache: 'none' })).toBe(1);
  });
});
