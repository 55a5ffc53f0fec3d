import type { FastifyReply, FastifyRequest } from 'fastify';
import fastify5 from 'fastify5';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  describeMiddlewareContract,
  fakeNodeRequest,
  FakeResponse,
  hostileResponse,
  unlistenableResponse,
} from '@spectator/test-support';
import { spectatorPlugin } from '../src/index.js';
import { fastifyPair, registerOnFake, runRequest } from './fake-fastify.js';
import { MetricsHarness } from './helpers.js';

// The plugin's contract with plain objects shaped like what Node and Fastify hand it (the
// server's `request` event, then the `onRequest` and `onSend` hooks), for what real sockets cannot easily
// produce (HTTP/2 versions, event orders, hostile objects): the cases every adapter shares
// (@spectator/test-support), then Fastify's own. Assertions still go through the Atlas dev
// endpoint.
describe('middleware contract', () => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  describeMiddlewareContract(h, ({ endpointTag, ...options }) => {
    const app = registerOnFake({
      ...options,
      ...(endpointTag === undefined
        ? {}
        : { endpointTag: (request, _reply, route) => endpointTag(request.url, route) }),
    });
    expect(app.error).toBeUndefined();
    return (res, call = {}) => runRequest(app, res, call);
  });

  it('calls each hook’s done exactly once per request, also when it cannot read the request', async () => {
    const app = registerOnFake({ registry: h.registry });
    expect([app.hooks.length, app.sendHooks.length]).toEqual([1, 1]);
    // onRequest's and onSend's
    expect(runRequest(app, new FakeResponse(), { route: '/a' })).toBe(2);
    let done = 0;
    const hostile = Object.defineProperty({}, 'raw', {
      get() {
        throw new Error('no raw');
      },
    });
    app.hooks[0]!(hostile, {}, () => done++);
    expect(done).toBe(1);
    // onSend passes the payload on unchanged.
    const sent: unknown[] = [];
    app.sendHooks[0]!(hostile, {}, 'body', (...args) => sent.push(args));
    expect(sent).toEqual([[null, 'body']]);
  });

  it('marks a reply an earlier onRequest hook sent from onSend: recorded once with its route, with a server or without (inject)', async () => {
    for (const server of [true, false]) {
      const app = registerOnFake({ registry: h.registry }, { server });
      const res = new FakeResponse();
      expect(runRequest(app, res, { route: '/users/:id', onRequest: false })).toBe(1);
      res.complete();
    }
    await h.recorded(2);
    expect(h.callCount()).toBe(2);
    expect(h.callCount({ 'ipc.endpoint': '_users__id' })).toBe(2);
    expect(h.inflightCount()).toBe(2);
  });

  it('never throws on hostile request, reply and response objects', async () => {
    const app = registerOnFake({ registry: h.registry, bodySizes: true });
    // statusCode and getHeader throw; the route and the reply's headers cannot be read.
    const res = hostileResponse();
    const raw = fakeNodeRequest(res);
    for (const listener of app.listeners) expect(() => listener(raw, res)).not.toThrow();
    const request = Object.defineProperty({ raw }, 'routeOptions', {
      get() {
        throw new Error('no options');
      },
    });
    const reply = {
      raw: res,
      request,
      getHeader() {
        throw new Error('no headers');
      },
    };
    expect(() => app.hooks[0]!(request, reply, () => {})).not.toThrow();
    expect(() => res.complete()).not.toThrow();
    // A response that cannot be listened to is not tracked, and nothing throws.
    const unlistenable = unlistenableResponse();
    expect(() => runRequest(app, unlistenable as unknown as FakeResponse)).not.toThrow();
    await h.recorded(1);
    expect(h.callCount({ 'ipc.endpoint': 'unknown' })).toBe(1);
    expect(h.inflightCount()).toBe(1);
  });

  it('records a request Fastify answered before any hook once, as unknown', async () => {
    const app = registerOnFake({ registry: h.registry });
    const res = new FakeResponse();
    runRequest(app, res, { url: '/%E0%A4%A', hooks: false });
    res.statusCode = 400;
    res.complete();
    await h.recorded(1);
    expect(h.callCount({ 'ipc.endpoint': 'unknown', 'http.status': '400' })).toBe(1);
  });

  it('times a request the server never saw (inject) from the hook, once', async () => {
    const app = registerOnFake({ registry: h.registry });
    const res = new FakeResponse();
    const raw = fakeNodeRequest(res, { url: '/users/1' });
    const { request, reply } = fastifyPair(raw, res, '/users/:id');
    // The hook may run twice for one request (a hook of each context); one record.
    for (const hook of [...app.hooks, ...app.hooks]) hook(request, reply, () => {});
    res.complete();
    await h.recorded(1);
    expect(h.callCount()).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': '_users__id' })).toBe(1);
  });

  it('hands the callbacks Fastify’s request and reply, and none for answers made before routing', async () => {
    const seen: string[] = [];
    const app = registerOnFake({
      registry: h.registry,
      endpointTag: (request, reply, route) => {
        seen.push(`endpointTag ${request.url} ${String(reply.getHeader('x-op'))} ${route}`);
        return undefined;
      },
      extraTags: (request) => {
        seen.push(`extraTags ${request.url}`);
        return { op: 'list' };
      },
    });
    const res = new FakeResponse();
    const raw = fakeNodeRequest(res, { url: '/r/1' });
    for (const listener of app.listeners) listener(raw, res);
    const { request, reply } = fastifyPair(raw, res, '/r/:id', { 'x-op': 'list' });
    app.hooks[0]!(request, reply, () => {});
    res.complete();
    const beforeRouting = new FakeResponse();
    runRequest(app, beforeRouting, { url: '/%', hooks: false });
    beforeRouting.complete();
    await h.recorded(2);
    expect(seen).toEqual(['endpointTag /r/1 list /r/:id', 'extraTags /r/1']);
    expect(h.callCount({ 'ipc.endpoint': '_r__id', op: 'list' })).toBe(1);
    const [early] = h.calls({ 'ipc.endpoint': 'unknown' });
    expect(early!.value).toBe(1);
    expect(early!.tags.op).toBeUndefined();
  });

  it('takes Fastify request/reply types for its callbacks (compile-time check)', async () => {
    const app = fastify5();
    await app.register(spectatorPlugin, {
      registry: h.registry,
      exclude: (path, raw) => raw.method === 'OPTIONS' && path === '/',
      endpointTag: (request: FastifyRequest, _reply: FastifyReply, route) =>
        route === '/graphql' ? String(request.headers['x-op']) : undefined,
      extraTags: (_request, reply) => ({ code: String(reply.statusCode) }),
    });
    expect(app.hasPlugin('@spectator/fastify')).toBe(true);
    await app.close();
  });
});
