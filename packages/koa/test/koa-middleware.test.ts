import { request as httpRequest, type ServerResponse } from 'node:http';
import { connect as http2Connect, createServer as createHttp2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Router from '@koa/router';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  spectatorMiddleware,
  UNMATCHED_ENDPOINT,
  OVERFLOW_ENDPOINT,
  type SpectatorMiddlewareOptions,
} from '../src/index.js';
import {
  abandonRequest,
  atlasValue,
  deferred,
  expectSameResponses,
  KOA_MAJORS,
  MetricsHarness,
  send,
  sendExpectingFailure,
} from './helpers.js';

/** An error as Koa's default handler reads it: `status`/`statusCode`, `expose`. */
function httpError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

describe.each(KOA_MAJORS)('Koa $major', ({ major, Koa }) => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  /** An app with the middleware installed first; Koa's error logging silenced. */
  function appWith(options: SpectatorMiddlewareOptions = {}) {
    const app = new Koa();
    app.silent = true;
    app.use(spectatorMiddleware({ registry: h.registry, ...options }));
    return app;
  }

  it('records a 200 with the strict IPC tag set and percentiles', async () => {
    const app = appWith();
    const router = new Router();
    router.get('/hello', (ctx) => {
      ctx.body = 'hi';
    });
    app.use(router.routes());
    const url = await h.serve(app);
    expect((await send(`${url}/hello`)).status).toBe(200);
    await h.recorded(1);

    h.expectStrictSuccess('spectator-koa', '/hello');
    expect(h.inflightCount()).toBe(1);
  });

  it('names a param route by its template, not the raw path', async () => {
    const app = appWith();
    const router = new Router();
    router.get('/users/:id', (ctx) => {
      ctx.body = { id: ctx.params.id };
    });
    app.use(router.routes());
    const url = await h.serve(app);
    await send(`${url}/users/1`);
    await send(`${url}/users/2?x=1`);
    await send(`${url}/users/3`, { method: 'HEAD' });
    await h.recorded(3);
    expect(h.calls().map((m) => m.tags['ipc.endpoint'])).toEqual(['_users__id', '_users__id']);
    expect(h.callCount({ 'ipc.endpoint': '_users__id', 'http.method': 'get' })).toBe(2);
    expect(h.callCount({ 'ipc.endpoint': '_users__id', 'http.method': 'unknown' })).toBe(1);
  });

  it('includes router prefixes: /api/:v/items/:id', async () => {
    const app = appWith();
    const router = new Router({ prefix: '/api/:v' });
    router.get('/', (ctx) => {
      ctx.body = 'index';
    });
    router.get('/items/:id', (ctx) => {
      ctx.body = 'item';
    });
    app.use(router.routes());
    const url = await h.serve(app);
    await send(`${url}/api/v1/items/42`);
    await send(`${url}/api/v2/items/43`);
    await send(`${url}/api/v2`);
    await h.recorded(3);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/api/:v/items/:id') })).toBe(2);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/api/:v') })).toBe(1);
    expect(h.callCount()).toBe(3);
  });

  it('includes the paths of nested routers', async () => {
    const app = appWith();
    const repos = new Router();
    repos.get('/:repo/issues/:n', (ctx) => {
      ctx.body = 'issue';
    });
    const orgs = new Router();
    orgs.use('/:org/repos', repos.routes(), repos.allowedMethods());
    const api = new Router({ prefix: '/api/:v' });
    api.use('/orgs', orgs.routes());
    app.use(api.routes());
    const url = await h.serve(app);
    await send(`${url}/api/v3/orgs/netflix/repos/spectator/issues/7`);
    await h.recorded(1);
    expect(
      h.callCount({ 'ipc.endpoint': atlasValue('/api/:v/orgs/:org/repos/:repo/issues/:n') }),
    ).toBe(1);
  });

  it('names routes of several routers, and regex routes by their source', async () => {
    const app = appWith();
    const a = new Router();
    a.get('/a/:id', (ctx) => {
      ctx.body = 'a';
    });
    const b = new Router({ prefix: '/b' });
    b.get(/^\/re\/(\d+)$/, (ctx) => {
      ctx.body = 're';
    });
    app.use(a.routes());
    app.use(b.routes());
    const bare = new Router();
    bare.get(/^\/re\/(\d+)$/, (ctx) => {
      ctx.body = 're';
    });
    app.use(bare.routes());
    const url = await h.serve(app);
    await send(`${url}/a/1`);
    await send(`${url}/re/12`);
    await send(`${url}/re/345`);
    await h.recorded(3);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/a/:id') })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/re/(\\d+)') })).toBe(2);
  });

  // Regression: `_matchedRoute` names the layer that ran last; a `router.use` middleware that
  // threw before the route ran would otherwise name the request `([^/]*)`.
  it('names the route, not the router.use middleware, when that middleware throws (401)', async () => {
    const app = appWith();
    const router = new Router({ prefix: '/admin' });
    router.use((ctx, next) => {
      if (ctx.get('authorization') === '') ctx.throw(401, 'who are you');
      return next();
    });
    router.get('/users/:id', (ctx) => {
      ctx.body = 'secret';
    });
    app.use(router.routes());
    const url = await h.serve(app);
    expect((await send(`${url}/admin/users/1`)).status).toBe(401);
    expect(
      (await send(`${url}/admin/users/2`, { headers: { authorization: 'token' } })).status,
    ).toBe(200);
    await h.recorded(2);
    const endpoint = atlasValue('/admin/users/:id');
    expect(
      h.callCount({
        'ipc.endpoint': endpoint,
        'http.status': '401',
        'ipc.status': 'access_denied',
      }),
    ).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': endpoint, 'http.status': '200' })).toBe(1);
    expect(h.callCount()).toBe(2);
  });

  it('collapses unmatched requests (404, 405 from allowedMethods) to one value', async () => {
    const app = appWith();
    const router = new Router();
    router.get('/known', (ctx) => {
      ctx.body = 'ok';
    });
    app.use(router.routes());
    app.use(router.allowedMethods());
    const url = await h.serve(app);
    for (const path of ['/wp-admin', '/.env', '/known/deeper', '/x?y=1']) {
      expect((await send(`${url}${path}`)).status).toBe(404);
    }
    expect((await send(`${url}/known`, { method: 'POST' })).status).toBe(405);
    await h.recorded(5);
    expect(
      h.callCount({
        'ipc.endpoint': UNMATCHED_ENDPOINT,
        'http.status': '404',
        'ipc.status': 'success',
        'ipc.result': 'success',
      }),
    ).toBe(4);
    expect(
      h.callCount({
        'ipc.endpoint': UNMATCHED_ENDPOINT,
        'http.status': '405',
        'ipc.status': 'bad_request',
      }),
    ).toBe(1);
    expect(h.callCount()).toBe(5);
  });

  it('records ctx.throw as the status Koa sent', async () => {
    const app = appWith();
    const router = new Router();
    router.get('/bad/:id', (ctx) => ctx.throw(400, 'bad id'));
    router.get('/forbidden', (ctx) => ctx.throw(403));
    router.get('/gone', (ctx) => ctx.throw(404));
    app.use(router.routes());
    const url = await h.serve(app);
    const bad = await send(`${url}/bad/1`);
    expect(bad).toMatchObject({ status: 400, body: 'bad id' });
    expect((await send(`${url}/forbidden`)).status).toBe(403);
    expect((await send(`${url}/gone`)).status).toBe(404);
    await h.recorded(3);
    expect(
      h.callCount({
        'ipc.endpoint': atlasValue('/bad/:id'),
        'http.status': '400',
        'ipc.status': 'bad_request',
        'ipc.result': 'failure',
      }),
    ).toBe(1);
    expect(
      h.callCount({
        'ipc.endpoint': '_forbidden',
        'http.status': '403',
        'ipc.status': 'access_denied',
      }),
    ).toBe(1);
    expect(
      h.callCount({ 'ipc.endpoint': '_gone', 'http.status': '404', 'ipc.status': 'success' }),
    ).toBe(1);
  });

  it('records uncaught errors as the status Koa sent (err.status, err.statusCode, else 500)', async () => {
    const app = appWith();
    const router = new Router();
    router.get('/boom/:id', async () => {
      await new Promise((r) => setTimeout(r, 2));
      throw new Error('boom');
    });
    router.get('/sync-boom', () => {
      throw new Error('sync boom');
    });
    router.get('/teapot', () => {
      throw httpError('short and stout', { status: 418, expose: true });
    });
    router.get('/busy', () => {
      throw httpError('slow down', { statusCode: 429 });
    });
    router.get('/odd', () => {
      throw httpError('odd status', { status: 999 });
    });
    router.get('/not-a-number', () => {
      throw httpError('odd status', { status: '400' });
    });
    app.use(router.routes());
    const url = await h.serve(app);
    const sent: Record<string, number> = {};
    for (const path of ['/boom/1', '/sync-boom', '/teapot', '/busy', '/odd', '/not-a-number'])
      sent[path] = (await send(`${url}${path}`)).status;
    expect(sent).toEqual({
      '/boom/1': 500,
      '/sync-boom': 500,
      '/teapot': 418,
      '/busy': 429,
      '/odd': 500,
      '/not-a-number': 500,
    });
    await h.recorded(6);
    const recorded = (endpoint: string, status: string, ipcStatus: string) =>
      h.callCount({
        'ipc.endpoint': atlasValue(endpoint),
        'http.status': status,
        'ipc.status': ipcStatus,
        'ipc.result': 'failure',
      });
    expect(recorded('/boom/:id', '500', 'unexpected_error')).toBe(1);
    expect(recorded('/sync-boom', '500', 'unexpected_error')).toBe(1);
    expect(recorded('/teapot', '418', 'bad_request')).toBe(1);
    expect(recorded('/busy', '429', 'throttled')).toBe(1);
    expect(recorded('/odd', '500', 'unexpected_error')).toBe(1);
    expect(recorded('/not-a-number', '500', 'unexpected_error')).toBe(1);
    expect(h.callCount()).toBe(6);
  });

  it('rethrows errors untouched: same object upstream and in app "error"', async () => {
    const app = new Koa();
    app.silent = true;
    const thrown = httpError('upstream sees me', { status: 409 });
    let caught: unknown;
    const emitted: unknown[] = [];
    app.on('error', (err: unknown) => emitted.push(err));
    // An error handler *before* the metrics middleware: it must get the very error thrown.
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        caught = err;
        ctx.status = 502;
        ctx.body = 'handled upstream';
      }
    });
    app.use(spectatorMiddleware({ registry: h.registry }));
    const router = new Router();
    router.get('/conflict', () => {
      throw thrown;
    });
    router.get('/plain', () => {
      throw new Error('to koa');
    });
    app.use(router.routes());

    const second = new Koa();
    second.silent = true;
    second.on('error', (err: unknown) => emitted.push(err));
    second.use(spectatorMiddleware({ registry: h.registry }));
    const plain = new Error('to koa');
    second.use(() => {
      throw plain;
    });

    const url = await h.serve(app);
    const secondUrl = await h.serve(second);
    expect(await send(`${url}/conflict`)).toMatchObject({ status: 502, body: 'handled upstream' });
    expect((await send(`${secondUrl}/anything`)).status).toBe(500);
    await h.recorded(2);
    expect(caught).toBe(thrown);
    expect(emitted).toEqual([plain]);
    expect(emitted[0]).toBe(plain);
    // The status the client got, set by the upstream handler, is what is recorded.
    expect(h.callCount({ 'ipc.endpoint': '_conflict', 'http.status': '502' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': UNMATCHED_ENDPOINT, 'http.status': '500' })).toBe(1);
  });

  it('tags HTTP/2 requests ipc.protocol=http_2 (h2c server, real client)', async () => {
    const app = appWith();
    const router = new Router();
    router.get('/users/:id', (ctx) => {
      ctx.body = { id: ctx.params.id };
    });
    app.use(router.routes());
    const handler = app.callback();
    const server = createHttp2Server((req, res) => {
      void handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const session = http2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':path': '/users/7' });
        let code = 0;
        stream.on('response', (headers) => (code = Number(headers[':status'])));
        stream.on('data', () => {});
        stream.on('end', () => resolve(code));
        stream.on('error', reject);
        stream.end();
      });
      expect(status).toBe(200);
      await h.recorded(1);
    } finally {
      session.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(
      h.callCount({
        'ipc.protocol': 'http_2',
        'ipc.endpoint': atlasValue('/users/:id'),
        'http.status': '200',
        'ipc.status': 'success',
      }),
    ).toBe(1);
  });

  it('maps 503 to throttled (netflix mode) and unavailable (standard mode)', async () => {
    const netflix = appWith();
    const standard = appWith({ statusMode: 'standard' });
    for (const app of [netflix, standard]) {
      app.use((ctx) => {
        ctx.status = 503;
      });
    }
    const netflixUrl = await h.serve(netflix);
    const standardUrl = await h.serve(standard);
    await send(`${netflixUrl}/busy`);
    await send(`${standardUrl}/busy`);
    await h.recorded(2);
    expect(
      h.callCount({ 'http.status': '503', 'ipc.status': 'throttled', 'ipc.result': 'failure' }),
    ).toBe(1);
    expect(
      h.callCount({ 'http.status': '503', 'ipc.status': 'unavailable', 'ipc.result': 'failure' }),
    ).toBe(1);
  });

  it('records a client abort as cancelled, exactly once', async () => {
    const app = appWith();
    const arrived = deferred();
    const release = deferred();
    let serverRes: ServerResponse | undefined;
    const router = new Router();
    router.get('/slow/:id', async (ctx) => {
      serverRes = ctx.res;
      arrived.resolve();
      await release.promise;
      // The handler carries on after the client left: this must not add a second record.
      ctx.body = 'too late';
    });
    app.use(router.routes());
    const url = await h.serve(app);
    await abandonRequest(`${url}/slow/1`, arrived.promise, () => serverRes!);
    release.resolve();
    await h.expectCancelledOnce('/slow/:id');
  });

  it('records a streaming body when it ends', async () => {
    const app = appWith();
    const body = new Readable({ read() {} });
    const router = new Router();
    router.get('/stream', (ctx) => {
      ctx.type = 'text/plain';
      body.push('first chunk\n');
      ctx.body = body;
    });
    app.use(router.routes());
    const url = await h.serve(app);
    const response = await fetch(`${url}/stream`);
    const reader = response.body!.getReader();
    await reader.read(); // the first chunk arrived: the response is under way
    await new Promise((r) => setTimeout(r, 60));
    await h.registry.publish();
    expect(h.callCount()).toBe(0); // not recorded while streaming
    expect(h.inflightCount()).toBe(1);

    body.push('last chunk\n');
    body.push(null);
    while (!(await reader.read()).done) {
      // drain
    }
    await h.recorded(1);
    expect(
      h.callCount({ 'ipc.endpoint': '_stream', 'http.status': '200', 'ipc.status': 'success' }),
    ).toBe(1);
    const [totalTime] = h.calls({ 'ipc.endpoint': '_stream' }, 'totalTime');
    expect(totalTime!.value).toBeGreaterThanOrEqual(0.05); // seconds: covers the whole stream
  });

  it('records a client abort during a streaming body as cancelled', async () => {
    const app = appWith();
    const body = new Readable({ read() {} });
    let serverRes: ServerResponse | undefined;
    app.use((ctx) => {
      serverRes = ctx.res;
      body.push('partial\n');
      ctx.body = body;
    });
    const url = await h.serve(app);
    const gotHeaders = deferred();
    const clientReq = httpRequest(`${url}/feed`, { agent: false }, () => gotHeaders.resolve());
    clientReq.on('error', () => {});
    clientReq.end();
    await gotHeaders.promise;
    const closed = new Promise((r) => serverRes!.once('close', r));
    clientReq.destroy();
    await closed;
    await h.recorded(1);
    expect(
      h.callCount({
        'ipc.endpoint': UNMATCHED_ENDPOINT,
        'ipc.status': 'cancelled',
        'http.status': undefined,
      }),
    ).toBe(1);
    expect(h.calls()[0]!.tags['http.status']).toBeUndefined();
    expect(h.callCount()).toBe(1);
  });

  it('records a stream that fails before its first chunk as the 500 it caused', async () => {
    const app = appWith();
    app.use((ctx) => {
      const body = new Readable({ read() {} });
      setTimeout(() => body.destroy(new Error('source failed')), 5);
      ctx.body = body;
    });
    const url = await h.serve(app);
    // Koa 2 answers 500; Koa 3's stream.pipeline destroys the response (socket hang up).
    expect(await sendExpectingFailure(`${url}/file`)).toBe(major === 2 ? 500 : 'error');
    await h.recorded(1);
    expect(
      h.callCount({
        'http.status': '500',
        'ipc.status': 'unexpected_error',
        'ipc.result': 'failure',
      }),
    ).toBe(1);
    expect(h.callCount()).toBe(1);
  });

  it.runIf(major === 3)(
    'records a stream failing mid-body (response destroyed by Koa 3) as 500, not cancelled',
    async () => {
      const app = appWith();
      const failed = deferred();
      app.use((ctx) => {
        const body = new Readable({ read() {} });
        body.push('some bytes\n');
        void failed.promise.then(() => body.destroy(new Error('source failed mid-body')));
        ctx.body = body;
      });
      const url = await h.serve(app);
      const outcome = sendExpectingFailure(`${url}/file`);
      await new Promise((r) => setTimeout(r, 20));
      failed.resolve();
      expect(await outcome).toBe('error');
      await h.recorded(1);
      expect(h.callCount({ 'http.status': '500', 'ipc.status': 'unexpected_error' })).toBe(1);
      expect(h.callCount({ 'ipc.status': 'cancelled' })).toBe(0);
    },
  );

  it('records an error thrown after the headers were sent when the connection closes', async () => {
    // Koa cannot report it (ctx.onerror only emits 'error') and leaves the response open.
    const app = appWith();
    const emitted: unknown[] = [];
    app.on('error', (err: unknown) => emitted.push(err));
    let serverRes: ServerResponse | undefined;
    app.use((ctx) => {
      serverRes = ctx.res;
      ctx.status = 200;
      ctx.res.flushHeaders();
      throw new Error('too late to tell the client');
    });
    const url = await h.serve(app);
    const gotHeaders = deferred();
    const clientReq = httpRequest(`${url}/late-error`, { agent: false }, (res) => {
      expect(res.statusCode).toBe(200);
      gotHeaders.resolve();
    });
    clientReq.on('error', () => {});
    clientReq.end();
    await gotHeaders.promise;
    await new Promise((r) => setTimeout(r, 30));
    await h.registry.publish();
    expect(h.callCount()).toBe(0); // still open: nothing final to record yet
    expect(emitted).toHaveLength(1);
    const closed = new Promise((r) => serverRes!.once('close', r));
    clientReq.destroy();
    await closed;
    await h.recorded(1);
    expect(h.callCount({ 'ipc.status': 'cancelled', 'ipc.endpoint': UNMATCHED_ENDPOINT })).toBe(1);
  });

  it('records responses written directly with ctx.respond = false, and empty 204s', async () => {
    const app = appWith();
    const router = new Router();
    router.get('/raw', (ctx) => {
      ctx.respond = false;
      ctx.res.statusCode = 201;
      setTimeout(() => ctx.res.end('raw'), 5);
    });
    router.delete('/things/:id', (ctx) => {
      ctx.status = 204;
    });
    app.use(router.routes());
    const url = await h.serve(app);
    expect(await send(`${url}/raw`)).toMatchObject({ status: 201, body: 'raw' });
    expect((await send(`${url}/things/1`, { method: 'DELETE' })).status).toBe(204);
    await h.recorded(2);
    expect(h.callCount({ 'ipc.endpoint': '_raw', 'http.status': '201' })).toBe(1);
    expect(
      h.callCount({
        'ipc.endpoint': atlasValue('/things/:id'),
        'http.method': 'delete',
        'http.status': '204',
      }),
    ).toBe(1);
  });

  it('leaves excluded paths unrecorded (no call, no inflight sample)', async () => {
    const app = appWith({ exclude: ['/health', /^\/static\//, (path) => path === '/skip-me'] });
    app.use((ctx) => {
      ctx.body = ctx.path;
    });
    const url = await h.serve(app);
    for (const path of [
      '/health',
      '/health/live?x',
      '/healthy',
      '/static/app.js',
      '/skip-me',
      '/work',
    ])
      await send(`${url}${path}`);
    await h.recorded(2);
    expect(h.callCount()).toBe(2);
    expect(h.calls().map((m) => m.value)).toEqual([2]); // both unmatched by any router
    expect(h.inflightCount()).toBe(2);
  });

  it('excludes by predicate on the context', async () => {
    const app = appWith({ exclude: (_path, ctx) => ctx.req.method === 'OPTIONS' });
    app.use((ctx) => {
      ctx.status = 204;
    });
    const url = await h.serve(app);
    await send(`${url}/x`, { method: 'OPTIONS' });
    await send(`${url}/x`, { method: 'GET' });
    await h.recorded(1);
    expect(h.callCount({ 'http.method': 'get' })).toBe(1);
    expect(h.callCount()).toBe(1);
  });

  it('uses endpointTag when it returns a name, the template otherwise (and when it throws)', async () => {
    const app = appWith({
      endpointTag: (ctx) => {
        const op = ctx.req.headers['x-op'];
        if (op === 'throw') throw new Error('callback bug');
        return typeof op === 'string' ? `op-${op}` : undefined;
      },
    });
    const router = new Router();
    router.post('/graphql', (ctx) => {
      ctx.body = '{}';
    });
    app.use(router.routes());
    const url = await h.serve(app);
    await send(`${url}/graphql`, { method: 'POST', headers: { 'x-op': 'getUser' } });
    await send(`${url}/graphql`, { method: 'POST' });
    await send(`${url}/graphql`, { method: 'POST', headers: { 'x-op': 'throw' } });
    await h.recorded(3);
    expect(h.callCount({ 'ipc.endpoint': 'op-getUser' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': '_graphql' })).toBe(2);
  });

  it('adds extraTags when opted in; a throwing callback records without them', async () => {
    const app = appWith({
      extraTags: (ctx) => {
        const tenant = ctx.req.headers['x-tenant'];
        if (tenant === 'throw') throw new Error('callback bug');
        return { tenant: String(tenant ?? 'none'), owner: 'cannot-override' };
      },
    });
    const router = new Router();
    router.get('/t', (ctx) => {
      ctx.body = 't';
    });
    app.use(router.routes());
    const url = await h.serve(app);
    await send(`${url}/t`, { headers: { 'x-tenant': 'acme' } });
    await send(`${url}/t`, { headers: { 'x-tenant': 'throw' } });
    await h.recorded(2);
    expect(h.callCount({ tenant: 'acme', owner: 'spectator-koa', 'ipc.endpoint': '_t' })).toBe(1);
    const withoutTenant = h.calls().filter((m) => !('tenant' in m.tags));
    expect(withoutTenant.map((m) => m.value)).toEqual([1]);
  });

  it('records a plain timer with percentiles: false', async () => {
    const app = appWith({ percentiles: false });
    app.use((ctx) => {
      ctx.body = 'plain';
    });
    const url = await h.serve(app);
    await send(`${url}/plain`);
    await h.recorded(1);
    const statistics = new Set(h.atlas.find('ipc.server.call').map((m) => m.tags.statistic));
    expect([...statistics].sort()).toEqual(['count', 'max', 'totalOfSquares', 'totalTime']);
    expect(h.atlas.find('ipc.server.call', { statistic: 'percentile' })).toEqual([]);
  });

  it('caps distinct endpoints with maxEndpoints; later ones become the overflow value', async () => {
    const app = appWith({ maxEndpoints: 2 });
    const router = new Router();
    for (const path of ['/one', '/two', '/three', '/four']) {
      router.get(path, (ctx) => {
        ctx.body = path;
      });
    }
    app.use(router.routes());
    const url = await h.serve(app);
    for (const path of ['/one', '/two', '/three', '/four', '/one']) await send(`${url}${path}`);
    await h.recorded(5);
    expect(h.callCount({ 'ipc.endpoint': '_one' })).toBe(2);
    expect(h.callCount({ 'ipc.endpoint': '_two' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': OVERFLOW_ENDPOINT })).toBe(2);
    expect(h.calls().map((m) => m.tags['ipc.endpoint'])).toHaveLength(3);
  });

  it('records ipc.server.inflight as each request starts', async () => {
    const app = appWith();
    const gate = deferred();
    let arrivedCount = 0;
    const allArrived = deferred();
    app.use(async (ctx) => {
      if (++arrivedCount === 3) allArrived.resolve();
      await gate.promise;
      ctx.body = 'done';
    });
    const url = await h.serve(app);
    const pending = [send(`${url}/wait`), send(`${url}/wait`), send(`${url}/wait`)];
    await allArrived.promise;
    gate.resolve();
    await Promise.all(pending);
    await send(`${url}/wait`); // alone again: inflight 1
    await h.recorded(4);
    const inflight = (statistic: string) =>
      h.atlas
        .find('ipc.server.inflight', { owner: 'spectator-koa', statistic })
        .reduce((s, m) => s + m.value, 0);
    expect(inflight('count')).toBe(4);
    expect(inflight('totalAmount')).toBe(1 + 2 + 3 + 1);
    expect(
      Math.max(...h.atlas.find('ipc.server.inflight', { statistic: 'max' }).map((m) => m.value)),
    ).toBe(3);
  });

  it('records body sizes from content-length when bodySizes is on', async () => {
    const app = appWith({ bodySizes: true });
    const router = new Router();
    router.post('/echo', async (ctx) => {
      let body = '';
      ctx.req.setEncoding('utf8');
      for await (const chunk of ctx.req) body += chunk as string;
      ctx.body = body.toUpperCase() + '!'; // Koa sets content-length
    });
    app.use(router.routes());
    const url = await h.serve(app);
    await send(`${url}/echo`, {
      method: 'POST',
      body: 'hello world',
      headers: { 'content-type': 'text/plain' },
    });
    await h.recorded(1);
    expect(h.bodySize('ipc.server.call.size.inbound', '_echo')).toBe(11);
    expect(h.bodySize('ipc.server.call.size.outbound', '_echo')).toBe(12);
  });

  it('records no body sizes by default', async () => {
    const app = appWith();
    app.use((ctx) => {
      ctx.body = 'x';
    });
    const url = await h.serve(app);
    await send(`${url}/echo`, { method: 'POST', body: 'abc' });
    await h.recorded(1);
    expect(h.atlas.find('ipc.server.call.size.inbound')).toEqual([]);
    expect(h.atlas.find('ipc.server.call.size.outbound')).toEqual([]);
  });

  it('does not alter response status, headers or body', async () => {
    const build = (withMetrics: boolean) => {
      const app = withMetrics ? appWith() : new Koa();
      app.silent = true;
      const router = new Router();
      router.get('/same/:id', (ctx) => {
        ctx.set('x-custom', 'yes');
        ctx.status = 201;
        ctx.body = { id: ctx.params.id };
      });
      router.get('/err', () => {
        throw new Error('nope');
      });
      router.get('/thrown', (ctx) => ctx.throw(422, 'unprocessable', { headers: { 'x-e': '1' } }));
      router.get('/stream', (ctx) => {
        ctx.body = Readable.from(['a', 'b', 'c']);
      });
      app.use(router.routes());
      app.use(router.allowedMethods());
      return app;
    };
    const plainUrl = await h.serve(build(false));
    const metricsUrl = await h.serve(build(true));
    const requests: [string, string][] = [
      ['GET', '/same/7'],
      ['GET', '/err'],
      ['GET', '/thrown'],
      ['GET', '/stream'],
      ['GET', '/missing'],
      ['PUT', '/same/7'],
      ['HEAD', '/same/7'],
    ];
    await expectSameResponses(plainUrl, metricsUrl, requests);
    await h.recorded(requests.length);
  });
});
