import type { Request, Response } from 'express';
import express5 from 'express5';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  describeMiddlewareContract,
  fakeNodeRequest,
  FakeResponse,
  hostileResponse,
  unlistenableResponse,
} from '@spectator/test-support';
import { spectatorMiddleware, type ExpressRequestLike } from '../src/index.js';
import { MetricsHarness } from './helpers.js';

// The middleware's contract with plain objects shaped like Express's req/res, for what real
// sockets cannot easily produce (HTTP/2 versions, hostile objects): the cases every adapter
// shares (@spectator/test-support), then Express's own. Assertions still go through the Atlas
// dev endpoint.
function fakeRequest(overrides: Partial<ExpressRequestLike> = {}): ExpressRequestLike {
  return {
    method: 'GET',
    url: '/x',
    originalUrl: '/x',
    httpVersionMajor: 1,
    headers: {},
    ...overrides,
  };
}

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
            endpointTag: (req: ExpressRequestLike, _res: unknown, route: string | undefined) =>
              endpointTag(req.originalUrl ?? '', route),
          }),
    });
    return (res, call = {}) => {
      const req = fakeNodeRequest(res, call);
      const route = call.route === undefined ? undefined : { path: call.route };
      return mw({ ...req, originalUrl: req.url, route }, res, () => {});
    };
  });

  it('calls next exactly once and lets its errors through untouched', () => {
    const mw = spectatorMiddleware({ registry: h.registry });
    const error = new Error('downstream');
    let calls = 0;
    expect(() =>
      mw(fakeRequest(), new FakeResponse(), () => {
        calls++;
        throw error;
      }),
    ).toThrow(error);
    expect(calls).toBe(1);
  });

  it('never throws on hostile request/response objects', async () => {
    const mw = spectatorMiddleware({ registry: h.registry, bodySizes: true });
    const res = hostileResponse();
    let nexts = 0;
    mw(fakeRequest({ route: { path: 1 }, app: 5 }), res, () => nexts++);
    expect(() => res.complete()).not.toThrow();

    mw(fakeRequest(), unlistenableResponse(), () => nexts++);
    expect(nexts).toBe(2);
    await h.recorded(1);
    expect(h.callCount()).toBe(1);
  });

  it('takes Express request/response types for its callbacks (compile-time check)', () => {
    const app = express5();
    app.use(
      spectatorMiddleware<Request, Response>({
        registry: h.registry,
        exclude: (path, req) => req.path !== path,
        endpointTag: (req) => (req.path === '/graphql' ? req.get('x-op') : undefined),
        extraTags: (_req, res) => ({ view: String(res.locals.view ?? 'none') }),
      }),
    );
    app.use(spectatorMiddleware({ registry: h.registry })); // inferred without type arguments too
    expect(app).toBeTypeOf('function');
  });
});
