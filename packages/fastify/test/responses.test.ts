// What each kind of answer is recorded as, on real Fastify 4 and 5 apps over real sockets: the
// status an error handler sent, a client that went away, a response the server cut short, and
// the answers Fastify makes itself (a malformed URL, a too-long parameter, a bad or too large
// body, 503 while closing), each recorded exactly once.
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spectatorPlugin, type SpectatorPluginOptions } from '../src/index.js';
import {
  abandonRequest,
  deferred,
  expectSameResponses,
  FASTIFY_MAJORS,
  listen,
  MetricsHarness,
  send,
  sendExpectingFailure,
} from './helpers.js';

/** A connection to `url` written by hand; `received` is what came back once the server closed it. */
function rawConnection(url: string): { write(text: string): void; received: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
  const received = new Promise<string>((resolve, reject) => {
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
  return { write: (chunk) => void socket.write(chunk), received };
}

/** An error as Fastify's default error handler reads it: its `statusCode`. */
function httpError(message: string, statusCode: number): Error {
  return Object.assign(new Error(message), { statusCode });
}

describe.each(FASTIFY_MAJORS)('Fastify $major responses', ({ major, fastify }) => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  async function appWith(
    options: SpectatorPluginOptions = {},
    fastifyOptions: { bodyLimit?: number; maxParamLength?: number } = {},
  ): Promise<FastifyInstance> {
    const app = fastify(fastifyOptions);
    await app.register(spectatorPlugin, { registry: h.registry, ...options });
    return app;
  }

  const recorded = () => h.callLines();

  it('records the status the error handlers sent, with the route template', async () => {
    const app = await appWith();
    app.get('/boom', async () => {
      throw new Error('bug');
    });
    app.get('/invalid/:id', async () => {
      throw httpError('no such thing', 422);
    });
    app.get('/busy', async (_request, reply) => reply.code(503).send('later'));
    app.get(
      '/validated',
      { schema: { querystring: { type: 'object', required: ['q'] } } },
      async () => 'ok',
    );
    await app.register(async (teapots) => {
      teapots.setErrorHandler(async (_error, _request, reply) => reply.code(418).send('teapot'));
      teapots.get('/tea', async () => {
        throw new Error('no coffee');
      });
    });
    const url = await h.serve(app);
    expect((await send(`${url}/boom`)).status).toBe(500);
    expect((await send(`${url}/invalid/1`)).status).toBe(422);
    expect((await send(`${url}/busy`)).status).toBe(503);
    expect((await send(`${url}/validated`)).status).toBe(400);
    expect((await send(`${url}/tea`)).status).toBe(418);
    await h.recorded(5);
    expect(recorded()).toEqual([
      '400 bad_request _validated',
      '418 bad_request _tea',
      '422 bad_request _invalid__id',
      '500 unexpected_error _boom',
      // Netflix's mapping takes a 503 as a 429.
      '503 throttled _busy',
    ]);
  });

  it("statusMode 'standard' records a 503 as unavailable", async () => {
    const app = await appWith({ statusMode: 'standard' });
    app.get('/busy', async (_request, reply) => reply.code(503).send('later'));
    const url = await h.serve(app);
    await send(`${url}/busy`);
    await h.recorded(1);
    expect(recorded()).toEqual(['503 unavailable _busy']);
  });

  it('records the answers Fastify makes itself once each: bad URL 400 and 414 before routing, body 400/413/415 after', async () => {
    const app = await appWith({}, { bodyLimit: 100, maxParamLength: 50 });
    app.get('/u/:id', async () => 'user');
    app.post('/u', async (request) => request.body);
    const url = await h.serve(app);
    const json = { 'content-type': 'application/json' };
    const statuses = [
      (await send(`${url}/u/%E0%A4%A`)).status, // malformed percent-encoding
      (await send(`${url}/u/${'a'.repeat(60)}`)).status, // longer than maxParamLength
      (await send(`${url}/u`, { method: 'POST', headers: json, body: '{"a":' })).status,
      (await send(`${url}/u`, { method: 'POST', headers: json, body: `"${'x'.repeat(200)}"` }))
        .status,
      (await send(`${url}/u`, { method: 'POST', headers: { 'content-type': 'x/y' }, body: 'x' }))
        .status,
      (await send(`${url}/u`, { method: 'POST', headers: json, body: '{"a":1}' })).status,
    ];
    // Fastify 4's router takes a too-long parameter for no match (404); Fastify 5 answers 414.
    const tooLong = major === 4 ? 404 : 414;
    expect(statuses).toEqual([400, tooLong, 400, 413, 415, 200]);
    await h.recorded(6);
    expect(recorded()).toEqual(
      [
        '200 success _u',
        '400 bad_request _u',
        '400 bad_request unknown',
        '413 bad_request _u',
        major === 4 ? '404 success unknown' : '414 bad_request unknown',
        '415 bad_request _u',
      ].sort(),
    );
    expect(h.inflightCount()).toBe(6);
  });

  it('records a request answered 503 while the app closes, once, and the one in flight with its status', async () => {
    const app = await appWith();
    const arrived = deferred();
    const release = deferred();
    app.get('/slow', async () => {
      arrived.resolve();
      await release.promise;
      return 'slow';
    });
    app.get('/items/:id', async () => 'item');
    const url = await listen(app);
    const inFlight = send(`${url}/slow`);
    await arrived.promise;
    // A connection whose request has begun (so close() leaves it open) and ends after close().
    const accepted = new Promise<Socket>((resolve) => app.server.once('connection', resolve));
    const late = rawConnection(url);
    late.write('GET /items/1 HTTP/1.1\r\nHost: x\r\n');
    const serverSide = await accepted;
    await expect.poll(() => serverSide.bytesRead).toBeGreaterThan(0);
    const closed = app.close();
    await expect.poll(() => app.server.listening).toBe(false);
    late.write('Connection: close\r\n\r\n');
    expect(await late.received).toMatch(/^HTTP\/1\.1 503 /);
    release.resolve();
    expect((await inFlight).status).toBe(200);
    await closed;
    await h.recorded(2);
    expect(recorded()).toEqual(['200 success _slow', '503 throttled unknown']);
    expect(h.inflightCount()).toBe(2);
  });

  it('records a client that went away as cancelled, once, without http.status', async () => {
    const app = await appWith();
    const arrived = deferred();
    let response: { once(event: 'close', listener: () => void): unknown } | undefined;
    app.get('/wait/:id', (request, reply) => {
      response = reply.raw;
      arrived.resolve();
      // Never answers: the client leaves first.
      void request;
    });
    const url = await h.serve(app);
    await abandonRequest(`${url}/wait/1`, arrived.promise, () => response!);
    await h.expectCancelledOnce('/wait/:id');
  });

  it('records a response the server cut short (a stream failing mid-body) as a 500, not as cancelled', async () => {
    const app = await appWith();
    app.get('/stream', async (_request, reply) => {
      const body = new Readable({ read() {} });
      body.push('first chunk\n');
      setTimeout(() => body.destroy(new Error('disk gone')), 20);
      return reply.type('text/plain').send(body);
    });
    app.get('/ok-stream', async (_request, reply) =>
      reply.type('text/plain').send(Readable.from(['a', 'b', 'c'])),
    );
    const url = await h.serve(app);
    expect(await sendExpectingFailure(`${url}/stream`)).toBe('error');
    expect((await send(`${url}/ok-stream`)).body).toBe('abc');
    await h.recorded(2);
    expect(recorded()).toEqual(['200 success _ok-stream', '500 unexpected_error _stream']);
    expect(h.callCount({ 'ipc.status': 'cancelled' })).toBe(0);
  });

  it('changes nothing in the responses (status, headers, body)', async () => {
    const build = (app: FastifyInstance) => {
      app.get('/users/:id', async (request) => ({ id: (request.params as { id: string }).id }));
      app.post('/orders', async (_request, reply) => reply.code(201).send({ ok: true }));
      app.get('/boom', async () => {
        throw httpError('nope', 409);
      });
      return app;
    };
    const plainApp = build(fastify());
    const plain = await listen(plainApp);
    h.onStop(() => plainApp.close());
    const measured = await h.serve(build(await appWith()));
    await expectSameResponses(plain, measured, [
      ['GET', '/users/1'],
      ['POST', '/orders'],
      ['GET', '/boom'],
      ['GET', '/nowhere'],
      ['HEAD', '/users/2'],
    ]);
    await h.recorded(5);
  });
});
