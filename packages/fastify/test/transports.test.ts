// Requests that do not arrive as HTTP/1 on the app's server, on Fastify 4 and 5: `inject()`
// (no server at all) and HTTP/2 (`http2: true`), and the body sizes read from the reply's headers.
import { connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spectatorPlugin } from '../src/index.js';
import { atlasValue, FASTIFY_MAJORS, MetricsHarness, send } from './helpers.js';

/** GETs each path over one HTTP/2 (cleartext) session; resolves the statuses. */
async function http2Get(origin: string, paths: readonly string[]): Promise<number[]> {
  const session = connect(origin);
  try {
    const statuses: number[] = [];
    for (const path of paths)
      statuses.push(
        await new Promise<number>((resolve, reject) => {
          const stream = session.request({ ':path': path });
          stream.on('error', reject);
          stream.on('response', (headers) => {
            stream.resume();
            stream.on('end', () => resolve(Number(headers[':status'])));
          });
          stream.end();
        }),
      );
    return statuses;
  } finally {
    session.close();
  }
}

describe.each(FASTIFY_MAJORS)('Fastify $major transports', ({ fastify }) => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  it('records inject() requests once each, with their route, alongside requests on the server', async () => {
    const app = fastify();
    await app.register(spectatorPlugin, { registry: h.registry });
    app.get('/users/:id', async () => ({ ok: true }));
    app.get('/boom', async () => {
      throw new Error('bug');
    });
    expect((await app.inject('/users/1')).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/users/2' })).statusCode).toBe(404);
    expect((await app.inject('/boom')).statusCode).toBe(500);
    const url = await h.serve(app);
    await send(`${url}/users/3`);
    await h.recorded(4);
    expect(h.callCount({ 'ipc.endpoint': atlasValue('/users/:id'), 'http.status': '200' })).toBe(2);
    expect(h.callCount({ 'ipc.endpoint': 'unknown', 'http.method': 'post' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': '_boom', 'ipc.status': 'unexpected_error' })).toBe(1);
    expect(h.callCount({ 'ipc.protocol': 'http_1' })).toBe(4);
    expect(h.inflightCount()).toBe(4);
  });

  it('tags requests of an http2 server ipc.protocol=http_2, with their route or unknown', async () => {
    const app = fastify({ http2: true });
    await app.register(spectatorPlugin, { registry: h.registry });
    app.get('/h2/:id', async (request) => ({ id: (request.params as { id: string }).id }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    h.onStop(() => app.close());
    const { port } = app.server.address() as AddressInfo;
    expect(await http2Get(`http://127.0.0.1:${port}`, ['/h2/1', '/h2/2', '/nowhere'])).toEqual([
      200, 200, 404,
    ]);
    await h.recorded(3);
    expect(
      h.callCount({
        'ipc.endpoint': atlasValue('/h2/:id'),
        'ipc.protocol': 'http_2',
        'ipc.status': 'success',
        'http.status': '200',
      }),
    ).toBe(2);
    expect(h.callCount({ 'ipc.endpoint': 'unknown', 'ipc.protocol': 'http_2' })).toBe(1);
    expect(h.callCount({ 'ipc.protocol': 'http_1' })).toBe(0);
  });

  it('bodySizes: the request’s content-length in, the reply’s (handed to writeHead) out', async () => {
    const app = fastify();
    await app.register(spectatorPlugin, { registry: h.registry, bodySizes: true });
    app.post('/echo', async (request) => request.body);
    app.get('/fixed', async () => 'x'.repeat(1234));
    const url = await h.serve(app);
    const body = JSON.stringify({ text: 'y'.repeat(500) });
    await send(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await send(`${url}/fixed`);
    await h.recorded(2);
    expect(h.bodySize('ipc.server.call.size.inbound', '_echo')).toBe(body.length);
    expect(h.bodySize('ipc.server.call.size.outbound', '_echo')).toBe(body.length);
    expect(h.bodySize('ipc.server.call.size.outbound', '_fixed')).toBe(1234);
  });
});
