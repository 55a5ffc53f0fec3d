import Router from '@koa/router';
import type { Context, ParameterizedContext } from 'koa';
import koa3 from 'koa3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  describeMiddlewareContract,
  fakeNodeRequest,
  FakeResponse,
  hostileResponse,
  unlistenableResponse,
} from '@spectator/test-support';
import {
  spectatorMiddleware,
  type KoaContextLike,
  type NodeRequestLike,
  type NodeResponseLike,
} from '../src/index.js';
import { MetricsHarness } from './helpers.js';

// The middleware's contract with plain objects shaped like Koa's ctx, for what real sockets
// cannot easily produce (HTTP/2 versions, hostile objects, event orders): the cases every adapter
// shares (@spectator/test-support), then Koa's own. Assertions still go through the Atlas dev
// endpoint.
function fakeContext(
  res: NodeResponseLike & { socket?: FakeResponse['socket'] } = new FakeResponse(),
  req: Partial<NodeRequestLike> = {},
  fields: Partial<KoaContextLike> = {},
): KoaContextLike {
  return {
    // The connection is shared by request and response, as in Node.
    req: { method: 'GET', url: '/x', httpVersionMajor: 1, headers: {}, socket: res.socket, ...req },
    res,
    originalUrl: '/x',
    ...fields,
  };
}

const resolvedNext = () => Promise.resolve();

describe('middleware contract', () => {
  const h = new MetricsHarness();
  beforeEach(() => h.start());
  afterEach(() => h.stop());

  describeMiddlewareContract(h, ({ endpointTag, ...options }) => {
    const mw = spectatorMiddleware({
      ...options,
      ...(endpointTag === undefined
        ? {}
        : {
            endpointTag: (ctx: KoaContextLike, route: string | undefined) =>
              endpointTag(ctx.originalUrl ?? '', route),
          }),
    });
    return (res, call = {}) => {
      const req = fakeNodeRequest(res, call);
      return mw({ req, res, originalUrl: req.url, _matchedRoute: call.route }, resolvedNext);
    };
  });

  it('tells a response destroyed with an error (500) from a client abort (cancelled)', async () => {
    const mw = spectatorMiddleware({ registry: h.registry });
    const destroyed = new FakeResponse();
    await mw(fakeContext(destroyed), resolvedNext);
    destroyed.serverDestroy(new Error('pipeline failed'));
    const aborted = new FakeResponse();
    await mw(fakeContext(aborted), resolvedNext);
    aborted.clientAbort();
    await h.recorded(2);
    expect(h.callCount({ 'http.status': '500', 'ipc.status': 'unexpected_error' })).toBe(1);
    expect(h.callCount({ 'ipc.status': 'cancelled' })).toBe(1);
  });

  it('returns the promise next() returned: errors pass through untouched', async () => {
    const mw = spectatorMiddleware({ registry: h.registry });
    const error = new Error('downstream');
    const rejected = Promise.reject(error);
    rejected.catch(() => {});
    let calls = 0;
    const returned = mw(fakeContext(), () => {
      calls++;
      return rejected;
    });
    expect(returned).toBe(rejected);
    await expect(returned).rejects.toBe(error);
    expect(calls).toBe(1);

    // A next() that throws synchronously (not koa-compose's) throws through as well.
    expect(() =>
      mw(fakeContext(), () => {
        throw error;
      }),
    ).toThrow(error);
  });

  it('never throws on hostile context objects', async () => {
    const mw = spectatorMiddleware({
      registry: h.registry,
      bodySizes: true,
      exclude: '/never',
      endpointTag: () => {
        throw new Error('callback bug');
      },
    });
    const res = hostileResponse();
    let nexts = 0;
    const next = () => {
      nexts++;
      return Promise.resolve();
    };
    await mw(fakeContext(res, {}, { _matchedRoute: { not: 'a path' }, matched: 5 }), next);
    expect(() => res.complete()).not.toThrow();

    await mw(fakeContext(unlistenableResponse()), next);

    const noRes = {
      req: { headers: {} },
      get res(): NodeResponseLike {
        throw new Error('no res');
      },
      get originalUrl(): string {
        throw new Error('no url');
      },
    };
    await mw(noRes, next);
    expect(nexts).toBe(3);
    await h.recorded(1);
    expect(h.callCount()).toBe(1);
    // What could be read is kept (the method); the unreadable status records as 0.
    expect(
      h.callCount({ 'http.method': 'get', 'http.status': '0', 'ipc.status': 'unexpected_error' }),
    ).toBe(1);
  });

  it('takes Koa and @koa/router context types for its callbacks (compile-time check)', () => {
    const app = new koa3();
    app.use(
      spectatorMiddleware<Context>({
        registry: h.registry,
        exclude: (path, ctx) => ctx.path !== path,
        endpointTag: (ctx) => (ctx.path === '/graphql' ? ctx.get('x-op') : undefined),
        extraTags: (ctx) => ({ view: String(ctx.state.view ?? 'none') }),
      }),
    );
    app.use(spectatorMiddleware({ registry: h.registry })); // inferred without type arguments too
    const router = new Router();
    router.use(
      spectatorMiddleware<Router.RouterContext>({
        registry: h.registry,
        endpointTag: (ctx) => ctx._matchedRouteName,
      }),
    );
    app.use(router.routes());
    const typed = new koa3<{ tenant: string }>();
    typed.use(
      spectatorMiddleware<ParameterizedContext<{ tenant: string }>>({
        registry: h.registry,
        extraTags: (ctx) => ({ tenant: ctx.state.tenant }),
      }),
    );
    expect(app).toBeInstanceOf(koa3);
  });
});
