import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
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
  EXPRESS_MAJORS,
  MetricsHarness,
  send,
  sendExpectingFailure,
} from './helpers.js';

/** Sends `paths` as pipelined GETs on one keep-alive connection; resolves how many answers came. */
function pipelined(url: string, paths: string[]): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        paths
          .map(
            (p, i) =>
              `GET ${p} HTTP/1.1\r\nHost: x\r\n${i === paths.length - 1 ? 'Connection: close\r\n' : ''}\r\n`,
          )
          .join(''),
      );
    });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(text.match(/HTTP\/1\.1 \d{3} /g)?.length ?? 0));
  });
}

describe.each(EXPRESS_MAJORS)('Express $major', ({ major, express }) => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  /** An app with the middleware installed first. */
  function appWith(options: SpectatorMiddlewareOptions = {}) {
    const app = express();
    app.set('env', 'test'); // Express logs errors to stderr unless env is 'test'
    app.use(spectatorMiddleware({ registry: h.registry, ...options }));
    return app;
  }

  it('records a 200 with the strict IPC tag set and percentiles', async () => {
    const app = appWith();
    app.get('/hello', (_req, res) => {
      res.send('hi');
    });
    const url = await h.serve(app);
    expect((await send(`${url}/hello`)).status).toBe(200);
    await h.recorded(1);

    h.expectStrictSuccess('spectator-express', '/hello');
  });

  // Regression (review): the request reached the one middleware twice, and was recorded twice
  // (and counted in flight twice).
  it('records a request once when the middleware is used on the app and on a sub-app it mounts', async () => {
    const middleware = spectatorMiddleware({ registry: h.registry });
    const app = express();
    app.use(middleware);
    const admin = express();
    admin.use(middleware);
    admin.get('/users/:id', (_req, res) => {
      res.send('ok');
    });
    app.use('/admin', admin);
    const url = await h.serve(app);
    expect((await send(`${url}/admin/users/1`)).status).toBe(200);
    expect((await send(`${url}/admin/users/2`)).status).toBe(200);
    await h.recorded(2);
    expect(h.callCount()).toBe(2);
  });

  it('names a param route by its template, not the raw path', async () => {
    const app = appWith();
    app.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    const url = await h.serve(app);
    await send(`${url}/users/1`);
    await send(`${url}/users/2?x=1`);
    await h.recorded(2);
    expect(h.calls().map((m) => m.tags['ipc.endpoint'])).toEqual(['_users__id']); // "/users/:id" sanitized
    expect(h.callCount({ 'ipc.endpoint': '_users__id' })).toBe(2);
  });

  it('reconstructs routers mounted under parameterised paths: /api/:v/items/:id', async () => {
    const app = appWith();
    const router = express.Router();
    router.get('/items/:id', (_req, res) => {
      res.send('item');
    });
    app.use('/api/:v', router);
    const url = await h.serve(app);
    await send(`${url}/api/v1/items/42`);
    await send(`${url}/api/v2/items/43`);
    await h.recorded(2);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/api/:v/items/:id') })).toBe(2);
    expect(h.callCount()).toBe(2);
  });

  it('reconstructs nested routers', async () => {
    const app = appWith();
    const api = express.Router();
    const orgs = express.Router({ mergeParams: true });
    const repos = express.Router({ mergeParams: true });
    repos.get('/:repo/issues/:n', (_req, res) => {
      res.send('issue');
    });
    orgs.use('/:org/repos', repos);
    api.use('/orgs', orgs);
    app.use('/api/:v', api);
    const url = await h.serve(app);
    await send(`${url}/api/v3/orgs/netflix/repos/spectator/issues/7`);
    await h.recorded(1);
    expect(
      h.callCount({ 'ipc.endpoint': atlasValue('/api/:v/orgs/:org/repos/:repo/issues/:n') }),
    ).toBe(1);
  });

  it('names app.route() routes, per method', async () => {
    const app = appWith();
    app
      .route('/books/:id')
      .get((_req, res) => {
        res.send('get');
      })
      .put((_req, res) => {
        res.status(204).end();
      });
    const url = await h.serve(app);
    await send(`${url}/books/1`);
    await send(`${url}/books/2`, { method: 'PUT' });
    await h.recorded(2);
    const endpoint = atlasValue('/books/:id');
    expect(
      h.callCount({ 'ipc.endpoint': endpoint, 'http.method': 'get', 'http.status': '200' }),
    ).toBe(1);
    expect(
      h.callCount({ 'ipc.endpoint': endpoint, 'http.method': 'put', 'http.status': '204' }),
    ).toBe(1);
  });

  it('gives array paths one stable name', async () => {
    const app = appWith();
    app.get(['/a', '/b/:id'], (_req, res) => {
      res.send('ab');
    });
    const url = await h.serve(app);
    await send(`${url}/a`);
    await send(`${url}/b/9`);
    await h.recorded(2);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('(/a|/b/:id)') })).toBe(2);
  });

  it('names regex routes by their source', async () => {
    const app = appWith();
    app.get(/^\/re\/(\d+)$/, (_req, res) => {
      res.send('re');
    });
    const url = await h.serve(app);
    await send(`${url}/re/1`);
    await send(`${url}/re/22`);
    await h.recorded(2);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/re/(\\d+)') })).toBe(2);
  });

  it('collapses unmatched requests (404) to one value', async () => {
    const app = appWith();
    app.get('/known', (_req, res) => {
      res.send('ok');
    });
    const url = await h.serve(app);
    for (const path of ['/wp-admin', '/.env', '/known/deeper', '/x?y=1']) {
      expect((await send(`${url}${path}`)).status).toBe(404);
    }
    await h.recorded(4);
    expect(
      h.callCount({
        'ipc.endpoint': UNMATCHED_ENDPOINT,
        'http.status': '404',
        'ipc.status': 'success',
        'ipc.result': 'success',
      }),
    ).toBe(4);
    expect(h.callCount()).toBe(4);
  });

  it('records a thrown error as the 500 Express sent', async () => {
    const app = appWith();
    app.get('/boom/:id', () => {
      throw new Error('boom');
    });
    const url = await h.serve(app);
    const res = await send(`${url}/boom/1`);
    expect(res.status).toBe(500);
    await h.recorded(1);
    expect(
      h.callCount({
        'ipc.endpoint': atlasValue('/boom/:id'),
        'http.status': '500',
        'ipc.status': 'unexpected_error',
        'ipc.result': 'failure',
      }),
    ).toBe(1);
  });

  it.runIf(major === 5)('records a rejected promise (Express 5 async handler) as 500', async () => {
    const app = appWith();
    app.get('/async/:id', async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('async boom');
    });
    const url = await h.serve(app);
    expect((await send(`${url}/async/1`)).status).toBe(500);
    await h.recorded(1);
    expect(
      h.callCount({
        'ipc.endpoint': atlasValue('/async/:id'),
        'http.status': '500',
        'ipc.status': 'unexpected_error',
      }),
    ).toBe(1);
  });

  it('records next(err) with the status a custom error handler set (418 → bad_request)', async () => {
    const app = appWith();
    app.get('/teapot', (_req, _res, next) => {
      setTimeout(() => next(new Error('short and stout')), 2);
    });
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(418).send(err.message);
    });
    const url = await h.serve(app);
    const res = await send(`${url}/teapot`);
    expect(res.status).toBe(418);
    expect(res.body).toBe('short and stout');
    await h.recorded(1);
    expect(
      h.callCount({
        'ipc.endpoint': '_teapot',
        'http.status': '418',
        'ipc.status': 'bad_request',
        'ipc.result': 'failure',
      }),
    ).toBe(1);
    expect(h.callCount()).toBe(1);
  });

  it('maps 503 to throttled (netflix mode) and unavailable (standard mode)', async () => {
    const netflix = appWith();
    const standard = appWith({ statusMode: 'standard' });
    for (const app of [netflix, standard]) {
      app.get('/busy', (_req, res) => {
        res.sendStatus(503);
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
    let serverRes: Response | undefined;
    app.get('/slow/:id', (_req, res) => {
      serverRes = res;
      arrived.resolve();
      void release.promise.then(() => {
        // The handler carries on after the client left: this must not add a second record.
        res.status(200).send('too late');
      });
    });
    const url = await h.serve(app);
    await abandonRequest(`${url}/slow/1`, arrived.promise, () => serverRes!);
    release.resolve();
    await h.expectCancelledOnce('/slow/:id');
  });

  it('records a streaming response when it ends', async () => {
    const app = appWith();
    const finishStream = deferred();
    app.get('/stream', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.write('first chunk\n');
      void finishStream.promise.then(() => res.end('last chunk\n'));
    });
    const url = await h.serve(app);
    const response = await fetch(`${url}/stream`);
    const reader = response.body!.getReader();
    await reader.read(); // the first chunk arrived: the response is under way
    await new Promise((r) => setTimeout(r, 60));
    await h.registry.publish();
    expect(h.callCount()).toBe(0); // not recorded while streaming
    expect(h.inflightCount()).toBe(1);

    finishStream.resolve();
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

  // Regression: a response that closed without finishing was always recorded as cancelled,
  // blaming the client for the server's own failures after the headers were sent.
  it('records a response the server cut short as a 500, never as cancelled', async () => {
    const app = appWith();
    app.get('/pipe', (_req, res) => {
      const body = new Readable({ read() {} });
      body.push('first part');
      setTimeout(() => body.destroy(new Error('source failed')), 20);
      pipeline(body, res, () => {});
    });
    app.get('/destroy', (_req, res) => {
      res.destroy(new Error('server gave up'));
    });
    app.get('/late-next', (_req, res, next) => {
      res.write('partial');
      next(new Error('after the headers')); // Express's final handler destroys the socket
    });
    app.get('/late-throw', (_req, res) => {
      res.status(200);
      res.flushHeaders();
      throw new Error('after flushHeaders');
    });
    const url = await h.serve(app);
    for (const path of ['/pipe', '/destroy', '/late-next', '/late-throw']) {
      expect(await sendExpectingFailure(`${url}${path}`)).toBe('error');
    }
    await h.recorded(4);
    for (const path of ['/pipe', '/destroy', '/late-next', '/late-throw']) {
      expect(
        h.callCount({
          'ipc.endpoint': atlasValue(path),
          'http.status': '500',
          'ipc.status': 'unexpected_error',
        }),
      ).toBe(1);
    }
    expect(h.callCount({ 'ipc.status': 'cancelled' })).toBe(0);
  });

  it('records HEAD, 304, redirects, sendFile and pipelined requests once each', async () => {
    const app = appWith({ bodySizes: true });
    const dir = await mkdtemp(join(tmpdir(), 'spectator-express-'));
    const file = join(dir, 'file.txt');
    await writeFile(file, 'file body');
    app.get('/u/:id', (_req, res) => {
      res.send('user');
    });
    app.get('/etag', (_req, res) => {
      res.send('tagged body');
    });
    app.get('/redirect', (_req, res) => {
      res.redirect('/u/1');
    });
    app.get('/file', (_req, res) => {
      res.sendFile(file);
    });
    const url = await h.serve(app);
    expect((await send(`${url}/u/1`, { method: 'HEAD' })).status).toBe(200);
    const tagged = await send(`${url}/etag`);
    const etag = String(tagged.headers.etag);
    expect((await send(`${url}/etag`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await send(`${url}/redirect`)).status).toBe(302);
    expect((await send(`${url}/file`)).body).toBe('file body');
    const answers = await pipelined(url, ['/u/2', '/u/3', '/nowhere']);
    expect(answers).toBe(3);
    await h.recorded(8);
    expect(h.callCount({ 'http.method': 'unknown', 'ipc.endpoint': '_u__id' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': '_etag', 'http.status': '304' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': '_redirect', 'http.status': '302' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': '_file', 'http.status': '200' })).toBe(1);
    expect(h.callCount({ 'http.method': 'get', 'ipc.endpoint': '_u__id' })).toBe(2);
    expect(h.callCount({ 'ipc.endpoint': 'unknown', 'http.status': '404' })).toBe(1);
    expect(h.callCount()).toBe(8);
    // A HEAD or 304 response announces a length it does not send: no outbound size for them.
    expect(h.bodySize('ipc.server.call.size.outbound', '_file')).toBe(9);
    const outbound = h.atlas.find('ipc.server.call.size.outbound', { statistic: 'count' });
    expect(outbound.filter((m) => m.tags['http.method'] === 'HEAD')).toEqual([]);
    expect(outbound.filter((m) => m.tags['http.status'] === '304')).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  // Regression: a sub-app mounted through a router (`router.use('/admin', adminApp)`) has no
  // `parent` or `mountpath`, and its routes were recorded without the prefix above it.
  it('prefixes routes of a sub-app mounted through a router', async () => {
    const app = appWith();
    const admin = express();
    admin.get('/users/:id', (_req, res) => {
      res.send('admin user');
    });
    const api = express.Router();
    api.use('/admin', admin);
    app.use('/api/:v', api);
    app.get('/users/:id', (_req, res) => {
      res.send('user');
    });
    const url = await h.serve(app);
    await send(`${url}/api/v1/admin/users/3`);
    await send(`${url}/users/3`);
    await h.recorded(2);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/api/:v/admin/users/:id') })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/users/:id') })).toBe(1);
  });

  it('leaves excluded paths unrecorded (no call, no inflight sample)', async () => {
    const app = appWith({ exclude: ['/health', /^\/static\//, (path) => path === '/skip-me'] });
    for (const path of [
      '/health',
      '/health/live',
      '/healthy',
      '/static/app.js',
      '/skip-me',
      '/work',
    ]) {
      app.get(path, (_req, res) => {
        res.send(path);
      });
    }
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
    expect(
      h
        .calls()
        .map((m) => m.tags['ipc.endpoint'])
        .sort(),
    ).toEqual(['_healthy', '_work']);
    expect(h.inflightCount()).toBe(2);
  });

  // Regression: exclude '/health' left '/HEALTH' recorded, though Express routes it to /health.
  it('matches exclude paths by the app’s routing settings: case sensitive routing, strict routing', async () => {
    const app = appWith({ exclude: ['/health', '/api/'] });
    app.enable('case sensitive routing');
    app.enable('strict routing');
    app.get('/health', (_req, res) => void res.send('ok'));
    app.get('/api', (_req, res) => void res.send('api'));
    const url = await h.serve(app);
    // Recorded: /HEALTH (another route here) and /api (strict: the rule '/api/' is not it).
    for (const path of ['/health', '/HEALTH', '/health/', '/api', '/api/', '/api/x'])
      await send(`${url}${path}`);
    await h.recorded(2);
    expect(h.callCount()).toBe(2);
    expect(h.callCount({ 'ipc.endpoint': '_api' })).toBe(1);
  });

  it('uses endpointTag when it returns a name, the template otherwise (and when it throws)', async () => {
    const app = appWith({
      endpointTag: (req) => {
        if (req.headers['x-op'] === 'throw') throw new Error('callback bug');
        return typeof req.headers['x-op'] === 'string' ? `op-${req.headers['x-op']}` : undefined;
      },
    });
    app.post('/graphql', (_req, res) => {
      res.send('{}');
    });
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
      extraTags: (req) => {
        if (req.headers['x-tenant'] === 'throw') throw new Error('callback bug');
        return { tenant: String(req.headers['x-tenant'] ?? 'none'), owner: 'cannot-override' };
      },
    });
    app.get('/t', (_req, res) => {
      res.send('t');
    });
    const url = await h.serve(app);
    await send(`${url}/t`, { headers: { 'x-tenant': 'acme' } });
    await send(`${url}/t`, { headers: { 'x-tenant': 'throw' } });
    await h.recorded(2);
    expect(h.callCount({ tenant: 'acme', owner: 'spectator-express', 'ipc.endpoint': '_t' })).toBe(
      1,
    );
    const withoutTenant = h.calls().filter((m) => !('tenant' in m.tags));
    expect(withoutTenant.map((m) => m.value)).toEqual([1]);
  });

  it('records a plain timer with percentiles: false', async () => {
    const app = appWith({ percentiles: false });
    app.get('/plain', (_req, res) => {
      res.send('plain');
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
    for (const path of ['/one', '/two', '/three', '/four']) {
      app.get(path, (_req, res) => {
        res.send(path);
      });
    }
    const url = await h.serve(app);
    for (const path of ['/one', '/two', '/three', '/four', '/one']) await send(`${url}${path}`);
    await h.recorded(5);
    expect(h.callCount({ 'ipc.endpoint': '_one' })).toBe(2);
    expect(h.callCount({ 'ipc.endpoint': '_two' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': OVERFLOW_ENDPOINT })).toBe(2);
  });

  it('records ipc.server.inflight as each request starts', async () => {
    const app = appWith();
    const gate = deferred();
    let arrivedCount = 0;
    const allArrived = deferred();
    app.get('/wait', (_req, res) => {
      if (++arrivedCount === 3) allArrived.resolve();
      void gate.promise.then(() => res.send('done'));
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
        .find('ipc.server.inflight', { owner: 'spectator-express', statistic })
        .reduce((s, m) => s + (statistic === 'max' ? 0 : m.value), 0);
    expect(inflight('count')).toBe(4);
    expect(inflight('totalAmount')).toBe(1 + 2 + 3 + 1);
    expect(
      Math.max(...h.atlas.find('ipc.server.inflight', { statistic: 'max' }).map((m) => m.value)),
    ).toBe(3);
  });

  it('records body sizes from content-length when bodySizes is on', async () => {
    const app = appWith({ bodySizes: true });
    app.post('/echo', (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        res.send(body.toUpperCase() + '!'); // Express sets content-length
      });
    });
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
    app.post('/echo', (_req, res) => {
      res.send('x');
    });
    const url = await h.serve(app);
    await send(`${url}/echo`, { method: 'POST', body: 'abc' });
    await h.recorded(1);
    expect(h.atlas.find('ipc.server.call.size.inbound')).toEqual([]);
    expect(h.atlas.find('ipc.server.call.size.outbound')).toEqual([]);
  });

  it('does not alter response status, headers or body', async () => {
    const build = (withMetrics: boolean) => {
      const app = withMetrics ? appWith() : express();
      app.set('env', 'test');
      app.get('/same/:id', (req, res) => {
        res.set('x-custom', 'yes').status(201).json({ id: req.params.id });
      });
      app.get('/err', () => {
        const error = new Error('nope');
        error.stack = 'Error: nope'; // the default error page shows the stack: keep it identical
        throw error;
      });
      return app;
    };
    const plainUrl = await h.serve(build(false));
    const metricsUrl = await h.serve(build(true));
    await expectSameResponses(plainUrl, metricsUrl, [
      ['GET', '/same/7'],
      ['GET', '/err'],
      ['GET', '/missing'],
    ]);
    await h.recorded(3);
  });

  it('prefixes routes of a sub-app with its mount path', async () => {
    const app = appWith();
    const admin = express();
    admin.get('/users/:id', (_req, res) => {
      res.send('admin user');
    });
    app.use('/admin/:tenant', admin);
    const url = await h.serve(app);
    await send(`${url}/admin/acme/users/3`);
    await h.recorded(1);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/admin/:tenant/users/:id') })).toBe(1);
  });

  it('names a router mounted at two paths with both alternatives', async () => {
    const app = appWith();
    const items = express.Router();
    items.get('/items/:id', (_req, res) => {
      res.send('item');
    });
    app.use('/v1', items);
    app.use('/v2', items);
    const url = await h.serve(app);
    await send(`${url}/v1/items/1`);
    await send(`${url}/v2/items/1`);
    await h.recorded(2);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('(/v1/items/:id|/v2/items/:id)') })).toBe(2);
  });

  it('names routes registered after the first request', async () => {
    const app = appWith();
    const late = express.Router();
    app.use('/late/:v', late);
    app.get('/early', (_req, res) => {
      res.send('early');
    });
    const url = await h.serve(app);
    await send(`${url}/early`);
    late.get('/x/:id', (_req, res) => {
      res.send('late');
    });
    await send(`${url}/late/v9/x/1`);
    await h.recorded(2);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/late/:v/x/:id') })).toBe(1);
  });
});
