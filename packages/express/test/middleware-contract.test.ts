import { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import express5 from 'express5';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  spectatorMiddleware,
  type ExpressRequestLike,
  type ExpressResponseLike,
} from '../src/index.js';
import { MetricsHarness } from './helpers.js';

// The middleware's contract with plain objects shaped like Express's req/res, for what real
// sockets cannot easily produce (HTTP/2 versions, hostile objects). Assertions still go through
// the Atlas dev endpoint.
class FakeResponse extends EventEmitter implements ExpressResponseLike {
  statusCode = 200;
  headers: Record<string, string> = {};
  getHeader(name: string): string | undefined {
    return this.headers[name];
  }
}

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

  it('tags HTTP/2 requests ipc.protocol=http_2', async () => {
    const mw = spectatorMiddleware({ registry: h.registry });
    const res = new FakeResponse();
    mw(fakeRequest({ httpVersionMajor: 2 }), res, () => {});
    res.emit('finish');
    res.emit('close');
    await h.recorded(1);
    expect(h.callCount({ 'ipc.protocol': 'http_2', 'ipc.endpoint': 'unknown' })).toBe(1);
  });

  it('records once when finish and close both fire, and once when close repeats', async () => {
    const mw = spectatorMiddleware({ registry: h.registry });
    const finished = new FakeResponse();
    mw(fakeRequest(), finished, () => {});
    finished.emit('finish');
    finished.emit('close');
    finished.emit('finish');
    const aborted = new FakeResponse();
    mw(fakeRequest(), aborted, () => {});
    aborted.emit('close');
    aborted.emit('close');
    await h.recorded(2);
    expect(h.callCount()).toBe(2);
    expect(h.callCount({ 'ipc.status': 'cancelled' })).toBe(1);
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
    const res = new FakeResponse();
    Object.defineProperty(res, 'statusCode', {
      get() {
        throw new Error('no status');
      },
    });
    res.getHeader = () => {
      throw new Error('no headers');
    };
    let nexts = 0;
    mw(fakeRequest({ route: { path: 1 }, app: 5 }), res, () => nexts++);
    expect(() => res.emit('finish')).not.toThrow();

    const unlistenable = {
      statusCode: 200,
      getHeader: () => undefined,
      on: () => {
        throw new Error('no events');
      },
    };
    mw(fakeRequest(), unlistenable, () => nexts++);
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

  // Regression: IpcServerRecorder once counted an endpoint against maxEndpoints only on its meter
  // cache path, which requests with extraTags bypass, so extraTags made ipc.endpoint unbounded.
  it('maxEndpoints also caps endpoints of requests with extraTags', async () => {
    const mw = spectatorMiddleware({
      registry: h.registry,
      maxEndpoints: 1,
      endpointTag: (req) => req.originalUrl,
      extraTags: () => ({ t: 'x' }),
    });
    for (const path of ['/a', '/b', '/c']) {
      const res = new FakeResponse();
      mw(fakeRequest({ originalUrl: path }), res, () => {});
      res.emit('finish');
    }
    await h.recorded(3);
    expect(h.callCount({ 'ipc.endpoint': '_a' })).toBe(1);
    expect(h.callCount({ 'ipc.endpoint': '_overflow' })).toBe(2);
  });
});
