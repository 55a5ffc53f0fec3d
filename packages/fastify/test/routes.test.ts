// ipc.endpoint on real Fastify 4 and 5 apps over real sockets: route templates with the prefixes
// of registered plugins, wildcard and regular-expression routes, the not-found handler, and
// which routes a registration sees (the root's: all of them; an encapsulated one's: its own).
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spectatorPlugin, type SpectatorPluginOptions } from '../src/index.js';
import { atlasValue, FASTIFY_MAJORS, MetricsHarness, send, sendRaw } from './helpers.js';

describe.each(FASTIFY_MAJORS)('Fastify $major routes', ({ major, fastify }) => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  /** The plugin registered on a new app's root. */
  async function appWith(options: SpectatorPluginOptions = {}): Promise<FastifyInstance> {
    const app = fastify();
    await app.register(spectatorPlugin, { registry: h.registry, ...options });
    return app;
  }

  const endpoints = () => new Set(h.calls().map((m) => m.tags['ipc.endpoint']));

  it('records a 200 with the strict IPC tag set and percentiles', async () => {
    const app = await appWith();
    app.get('/hello', async () => 'hi');
    const url = await h.serve(app);
    expect((await send(`${url}/hello`)).status).toBe(200);
    await h.recorded(1);
    h.expectStrictSuccess('spectator-fastify', '/hello');
    expect(h.inflightCount()).toBe(1);
  });

  it('names a parameter route by its template, never the raw path (HEAD: same endpoint, method unknown)', async () => {
    const app = await appWith();
    app.get('/users/:id', async (request) => ({ id: (request.params as { id: string }).id }));
    const url = await h.serve(app);
    await send(`${url}/users/1`);
    await send(`${url}/users/2?x=1`);
    await send(`${url}/users/3`, { method: 'HEAD' });
    await h.recorded(3);
    expect(endpoints()).toEqual(new Set(['_users__id']));
    expect(h.callCount({ 'http.method': 'get' })).toBe(2);
    expect(h.callCount({ 'http.method': 'unknown', 'http.status': '200' })).toBe(1);
  });

  it('includes the prefixes of registered plugins, nested, whether registered before or after the plugin', async () => {
    const users: FastifyPluginAsync = async (instance) => {
      instance.get('/users/:id', async () => 'user');
      instance.get('/', async () => 'index');
    };
    const app = fastify();
    // Registered before the metrics plugin: Fastify adds a hook to the contexts that exist too.
    await app.register(
      async (v1) => {
        await v1.register(users, { prefix: '/v1' });
      },
      { prefix: '/api' },
    );
    await app.register(spectatorPlugin, { registry: h.registry });
    await app.register(users, { prefix: '/admin/:tenant' });
    const url = await h.serve(app);
    for (const path of ['/api/v1/users/7', '/api/v1/users/8', '/admin/acme/users/1', '/api/v1'])
      expect((await send(`${url}${path}`)).status).toBe(200);
    // prefixTrailingSlash 'both': a second route, whose URL Fastify 5 reports as the first's
    await send(`${url}/api/v1/`);
    await h.recorded(5);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/api/v1/users/:id') })).toBe(2);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/admin/:tenant/users/:id') })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/api/v1') })).toBe(major === 4 ? 1 : 2);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/api/v1/') })).toBe(major === 4 ? 1 : 0);
    expect(h.callCount({ 'ipc.endpoint': 'unknown' })).toBe(0);
  });

  it('bounds wildcard and regular-expression routes: one endpoint per route, however many paths', async () => {
    const app = await appWith();
    app.get('/files/*', async () => 'file');
    app.get('/orders/:id(^\\d+)', async () => 'order');
    app.get('/at/:hour(^\\d{2})h:minute(^\\d{2})m', async () => 'time');
    const url = await h.serve(app);
    for (let i = 0; i < 20; i++) {
      await send(`${url}/files/${i}/report-${i}.pdf`);
      await send(`${url}/orders/${1000 + i}`);
    }
    await send(`${url}/at/09h30m`);
    await send(`${url}/orders/abc`); // the expression does not match: no route
    await h.recorded(42);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/files/*') })).toBe(20);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/orders/:id(^\\d+)') })).toBe(20);
    expect(
      h.callCount({ 'ipc.endpoint': atlasValue('/at/:hour(^\\d{2})h:minute(^\\d{2})m') }),
    ).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': 'unknown', 'http.status': '404' })).toBe(1);
    expect(endpoints().size).toBe(4);
  });

  it('records 404s of the not-found handlers as unknown: the default one, a plugin’s own, and reply.callNotFound()', async () => {
    const app = await appWith();
    app.get('/maybe/:id', async (request, reply) => {
      if ((request.params as { id: string }).id === 'missing') return reply.callNotFound();
      return 'found';
    });
    await app.register(
      async (api) => {
        api.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ api: 'no' }));
        api.get('/ping', async () => 'pong');
      },
      { prefix: '/api' },
    );
    const url = await h.serve(app);
    expect((await send(`${url}/nowhere`)).status).toBe(404);
    const apiMiss = await send(`${url}/api/nowhere`);
    expect(apiMiss).toMatchObject({ status: 404, body: '{"api":"no"}' });
    expect((await send(`${url}/maybe/missing`)).status).toBe(404);
    expect((await send(`${url}/maybe/1`)).status).toBe(200);
    await h.recorded(4);
    expect(h.callCount({ 'ipc.endpoint': 'unknown', 'http.status': '404' })).toBe(3);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/maybe/:id'), 'http.status': '200' })).toBe(1);
    // Netflix's mapping: a 404 is a success.
    expect(h.callCount({ 'ipc.status': 'success' })).toBe(4);
  });

  it('registered inside an encapsulated plugin, records only that plugin’s requests', async () => {
    const app = fastify();
    app.get('/outside', async () => 'outside');
    await app.register(
      async (api) => {
        await api.register(spectatorPlugin, { registry: h.registry });
        api.get('/items/:id', async () => 'item');
        api.setNotFoundHandler(async (_request, reply) => reply.code(404).send('no item'));
      },
      { prefix: '/api' },
    );
    const url = await h.serve(app);
    await send(`${url}/api/items/1`);
    await send(`${url}/api/nothing`);
    await send(`${url}/outside`);
    await send(`${url}/elsewhere`);
    expect(
      await sendRaw(url, 'GET /%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    ).toMatch(/^HTTP\/1\.1 400/);
    await h.recorded(2);
    expect(h.callCount()).toBe(2);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/api/items/:id') })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': 'unknown', 'http.status': '404' })).toBe(1);
    expect(h.inflightCount()).toBe(2);
  });

  it('two encapsulated registrations each record their own routes, once', async () => {
    const app = fastify();
    for (const prefix of ['/a', '/b'])
      await app.register(
        async (instance) => {
          await instance.register(spectatorPlugin, {
            registry: h.registry,
            extraTags: () => ({ area: prefix.slice(1) }),
          });
          instance.get('/x', async () => 'x');
        },
        { prefix },
      );
    const url = await h.serve(app);
    await send(`${url}/a/x`);
    await send(`${url}/b/x`);
    await h.recorded(2);
    expect(h.callCount({ 'ipc.endpoint': '_a_x', area: 'a' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': '_b_x', area: 'b' })).toBe(1);
    expect(h.callCount()).toBe(2);
  });

  it('refuses a second registration in a context that already records (ERR_SPECTATOR_INVALID_OPTION)', async () => {
    const app = fastify();
    await app.register(spectatorPlugin, { registry: h.registry });
    app.register(async (child) => {
      await child.register(spectatorPlugin, { registry: h.registry });
    });
    await expect(app.ready()).rejects.toMatchObject({
      name: 'SpectatorConfigError',
      code: 'ERR_SPECTATOR_INVALID_OPTION',
      message: expect.stringContaining('registered twice') as unknown,
    });
  });

  it('refuses invalid options when the app starts, with the stable codes', async () => {
    const start = (options: object) => {
      const app = fastify();
      app.register(spectatorPlugin, { registry: h.registry, ...options });
      return app.ready();
    };
    await expect(start({ maxEndpoints: 0 })).rejects.toMatchObject({
      code: 'ERR_SPECTATOR_INVALID_NUMBER',
    });
    await expect(start({ statusMode: 'nflx' })).rejects.toMatchObject({
      code: 'ERR_SPECTATOR_INVALID_OPTION',
    });
    await expect(start({ endpointTag: 'x' })).rejects.toMatchObject({
      code: 'ERR_SPECTATOR_INVALID_OPTION',
    });
    await expect(start({ exclude: [42] })).rejects.toMatchObject({
      code: 'ERR_SPECTATOR_INVALID_OPTION',
    });
  });
});
